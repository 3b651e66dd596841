"""Which revocation data validation may fetch, and how (pyHanko's fetchers, gated).

pyhanko_certvalidator fetches OCSP responses, CRLs and issuer certificates
through pluggable fetchers (`pyhanko_certvalidator.fetchers`). The default
ones fetch whatever URL any certificate in sight names, so a file from
anyone could make the server fetch any address. `FetchSession` is the
fetcher backend of every validation context docsvc builds (signing/trust.py):

- revocation data (OCSP, CRL) is fetched only for a certificate that
  already chains to a configured root, decided offline: roots, configured
  intermediates and the certificates the validation holds (from the file
  being checked, the signer's own chain), revocation not checked, no network.
  A stranger's certificate never makes the server fetch anything;
- issuer certificates are never fetched (AIA caIssuers): a chain that needs
  a downloaded intermediate does not chain offline, so it is not trusted;
- every request goes through `Outbound` (signing/outbound.py): http(s),
  no redirects, public addresses unless allowed, one time budget.

One session serves one verification (or one signing, one renewal): its
budget is the total for everything fetched during it.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable

from asn1crypto import cms, crl, ocsp, x509
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.authority import Authority
from pyhanko_certvalidator.errors import CRLFetchError, OCSPFetchError
from pyhanko_certvalidator.fetchers import CertificateFetcher, FetcherBackend, Fetchers
from pyhanko_certvalidator.fetchers.requests_fetchers.crl_client import RequestsCRLFetcher
from pyhanko_certvalidator.fetchers.requests_fetchers.ocsp_client import RequestsOCSPFetcher
from pyhanko_certvalidator.registry import CertificateRegistry

from .outbound import FetchFailed, FetchPolicy, FetchRefused, Outbound, Response

log = logging.getLogger(__name__)

# Builds a validation context that fetches nothing and does not check
# revocation, from the configured roots plus the certificates given.
OfflineContext = Callable[[list[x509.Certificate]], ValidationContext]


class FetchSession(FetcherBackend):
    """Everything one validation may fetch, and what it was refused."""

    def __init__(self, policy: FetchPolicy, offline_context: OfflineContext) -> None:
        self.outbound = Outbound(policy)
        self._offline_context = offline_context
        self._known: dict[bytes, x509.Certificate] = {}
        self._registries: list[CertificateRegistry] = []
        self._admitted: dict[bytes, bool] = {}
        self._fetchers: Fetchers | None = None

    @property
    def refusals(self) -> list[FetchRefused]:
        return self.outbound.refusals

    def know(self, certs: Iterable[x509.Certificate]) -> None:
        """Certificates held without the network (the file's, the signer's chain)."""
        for cert in certs:
            self._known[cert.dump()] = cert

    def watch(self, registry: CertificateRegistry) -> None:
        """A validation context's registry: the certificates pyHanko registers
        while validating (a signature's CMS, a time-stamp token's) count as held."""
        self._registries.append(registry)

    def get_fetchers(self) -> Fetchers:
        # One set per session, shared by its contexts: what one pass fetched
        # (or failed to) is not fetched again by the next.
        if self._fetchers is None:
            self._fetchers = Fetchers(ocsp_fetcher=_OcspFetcher(self), crl_fetcher=_CrlFetcher(self),
                                      cert_fetcher=_NoCertificateFetcher())
        return self._fetchers

    async def admits(self, cert: object) -> bool:
        """Does `cert` chain to a configured root, offline? Only then may the
        URLs it names be fetched."""
        if not isinstance(cert, x509.Certificate):
            return False  # attribute certificates are not used here
        key = hashlib.sha256(cert.dump()).digest()
        if key not in self._admitted:
            self._admitted[key] = await self._chains_offline(cert)
        return self._admitted[key]

    async def _chains_offline(self, cert: x509.Certificate) -> bool:
        held = {**self._known, **{c.dump(): c for registry in self._registries for c in registry}}
        try:
            await CertificateValidator(cert, validation_context=self._offline_context(list(held.values()))
                                       ).async_validate_path()
            return True
        except Exception as e:  # any failure, of any kind, means: not known to chain, fetch nothing
            log.info("not fetching revocation data for %s: %s", cert.subject.human_friendly, e)
            return False

    def request(self, method: str, url: str, headers: dict[str, str], body: bytes = b"") -> Awaitable[Response]:
        """The HTTP step of pyHanko's fetchers, run in a thread as theirs is."""
        def task() -> Response:
            response = self.outbound.post(url, body, headers) if method == "POST" else self.outbound.get(url, headers)
            if response.status_code != 200:
                raise FetchFailed(f"{url}: status code {response.status_code}")
            return response
        return asyncio.to_thread(task)


class _Guarded:
    """Replaces the HTTP step of pyHanko's requests-based fetchers
    (`RequestsFetcherMixin._get/_post`, pyhanko-certvalidator 0.27 to 0.33) with the
    session's; request building, answer checking and caching stay theirs."""

    session: FetchSession

    def _get(self, url: str, *, acceptable_content_types: Iterable[str]) -> Awaitable[Response]:
        return self.session.request("GET", url, {"Accept": ",".join(acceptable_content_types)})

    def _post(
        self, url: str, data: bytes, *, content_type: str, acceptable_content_types: Iterable[str]
    ) -> Awaitable[Response]:
        return self.session.request("POST", url, {"Accept": ",".join(acceptable_content_types),
                                                  "Content-Type": content_type}, data)


# _Guarded's answers are outbound.Response, which has the shape of requests'
# Response that the fetchers read, not its type.
class _OcspFetcher(_Guarded, RequestsOCSPFetcher):  # type: ignore[misc]
    def __init__(self, session: FetchSession) -> None:
        super().__init__()
        self.session = session

    async def fetch(self, cert: x509.Certificate | cms.AttributeCertificateV2, authority: Authority) -> ocsp.OCSPResponse:
        if not await self.session.admits(cert):
            raise OCSPFetchError("The certificate does not chain to a trusted root; its OCSP responder is not asked.")
        return await super().fetch(cert, authority)


class _CrlFetcher(_Guarded, RequestsCRLFetcher):  # type: ignore[misc]
    def __init__(self, session: FetchSession) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # pyhanko-certvalidator's, unannotated
        self.session = session

    async def fetch(
        self, cert: x509.Certificate | cms.AttributeCertificateV2, *, use_deltas: bool = True
    ) -> Iterable[crl.CertificateList]:
        if not await self.session.admits(cert):
            raise CRLFetchError("The certificate does not chain to a trusted root; its CRL is not fetched.")
        lists: Iterable[crl.CertificateList] = await super().fetch(cert, use_deltas=use_deltas)
        return lists


class _NoCertificateFetcher(CertificateFetcher):
    """Issuer certificates (AIA caIssuers, a CRL's issuer) are never fetched."""

    async def fetch_cert_issuers(
        self, cert: x509.Certificate | cms.AttributeCertificateV2
    ) -> AsyncGenerator[x509.Certificate, None]:
        return
        yield  # an async generator that yields nothing

    async def fetch_crl_issuers(
        self, certificate_list: crl.CertificateList
    ) -> AsyncGenerator[x509.Certificate, None]:
        return
        yield

    def fetched_certs(self) -> Iterable[x509.Certificate]:
        return ()
