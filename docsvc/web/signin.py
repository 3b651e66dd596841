"""Signing in, for the /login page and POST /api/v1/tokens alike: throttled
per account and per client, and where a browser may be sent afterwards."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from sqlalchemy.orm import Session

from docsvc import accounts
from docsvc.errors import TooManyRequests
from docsvc.models import User
from docsvc.ratelimit import Limiter
from docsvc.runtime import Runtime

MAX_NEXT_LENGTH = 2000


@dataclass(frozen=True)
class SignInLimiters:
    account: Limiter  # keyed by the username as typed (folded), known or not
    client: Limiter   # keyed by the client's address


class SignInThrottled(TooManyRequests):
    code = "too_many_sign_ins"

    def __init__(self, retry_after: float) -> None:
        seconds = max(1, math.ceil(retry_after))  # whole seconds, as Retry-After says them
        super().__init__(f"Too many sign-in attempts for this account or from this address; "
                         f"try again in {seconds} s.", retry_after=seconds)


def sign_in_limiters(rt: Runtime) -> SignInLimiters:
    """The runtime's sign-in limiters: in this process on the embedded
    profile, shared through Redis by every web process on the scaled one."""
    settings = rt.settings
    return SignInLimiters(
        account=rt.limiter("sign_in_account", settings.sign_in_account_per_hour / 3600.0,
                           settings.sign_in_account_burst),
        client=rt.limiter("sign_in_client", settings.sign_in_client_per_hour / 3600.0,
                          settings.sign_in_client_burst),
    )


def sign_in(rt: Runtime, db: Session, username: str, password: str) -> User:
    """The user, if the attempt is allowed and the password right.

    The client's bucket is asked first, so an address that is throttled
    cannot drain other people's account buckets; every attempt takes a
    token, whether the account exists or not.
    """
    from docsvc.web.request_limits import client_key

    limiters = sign_in_limiters(rt)
    client, account = client_key(), username.strip().casefold()
    for limiter, key in ((limiters.client, client), (limiters.account, account)):
        if not limiter.allow(key):
            raise SignInThrottled(limiter.retry_after(key))
    return accounts.authenticate(db, username, password)


_TAB_OR_NEWLINE = re.compile(r"[\t\n\r]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_C0_OR_SPACE = "".join(chr(c) for c in range(0x21))


def local_path(target: str | None) -> str | None:
    """`target` as a path on this site, or None if a browser could read it as
    anything else (another host, a scheme, a protocol-relative address).

    Checked on what the browser will use (the WHATWG URL parser): it strips
    leading and trailing spaces and control characters, drops every tab and
    newline, and reads `\\` as `/`; so `/\\t/evil.example` and `/\\evil.example`
    are both `//evil.example`. What is returned is that normalised form.
    """
    if not target or len(target) > MAX_NEXT_LENGTH:
        return None
    path = _TAB_OR_NEWLINE.sub("", target.strip(_C0_OR_SPACE)).replace("\\", "/")
    if not path.startswith("/") or path.startswith("//") or _CONTROL.search(path):
        return None
    return path
