"""The TSA over HTTP, without building a TLS context for every request.

pyHanko 0.38's `HTTPTimeStamper` opens a new aiohttp session per request
when it is given none, and each session loads certifi's CA bundle into a
new TLS context: about 30 ms of CPU per time-stamp, twice a B-T signature
(its dummy request too), more than everything else the signer does. A
session cannot be kept instead: it belongs to the event loop that made it,
and every `sign_pdf` runs its own. So the session stays per request and
the TLS context, which belongs to no loop, is made once per process.
"""
from __future__ import annotations

import functools
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import certifi
from pyhanko.sign.timestamps import HTTPTimeStamper


@functools.cache
def _tls_context() -> ssl.SSLContext:
    # What pyHanko's own session uses (pyhanko_certvalidator's
    # aiohttp_fetchers.util._default_session): certifi's roots.
    return ssl.create_default_context(cafile=certifi.where())


class TsaClient(HTTPTimeStamper):
    """HTTPTimeStamper whose per-request sessions share one TLS context."""

    @asynccontextmanager
    async def _acquire_session(self) -> AsyncIterator[aiohttp.ClientSession]:
        # Overrides pyHanko's private hook (0.37-0.38); if it ever goes
        # away, requests simply take pyHanko's slower path again.
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=_tls_context())) as session:
            yield session
