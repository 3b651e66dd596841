"""After signing in, the browser goes back only to a page of this site,
judged on the address as the browser itself will read it."""
from __future__ import annotations

import pytest

from docsvc.web.signin import local_path

HOSTILE = [
    "//evil.example",
    "/\t/evil.example",          # /login?next=/%09/evil.example: browsers drop the tab
    "/\n/evil.example",
    "/\r\n/evil.example",
    "\t//evil.example",
    "/\\evil.example",           # a backslash is a slash to a browser
    "\\/evil.example",
    "\\\\evil.example",
    "/\t\\evil.example",
    " //evil.example",           # leading spaces and control characters are stripped
    "\x00//evil.example",
    "\x1f/\\evil.example",
    "https://evil.example/",
    "http:evil.example",
    "HTTPS://evil.example",
    "javascript:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "evil.example",
    "@evil.example",
    "/path\x00with-nul",         # control characters left inside are not a path we made
    "/x\x7f",
    "/" + "a" * 2000,            # longer than any address of ours
    "",
    None,
]

LOCAL = [
    ("/", "/"),
    ("/documents/3f2a?x=1", "/documents/3f2a?x=1"),
    ("/search?q=c%E1%BA%A3i+c%C3%A1ch&page=2", "/search?q=c%E1%BA%A3i+c%C3%A1ch&page=2"),
    ("/%2F/evil.example", "/%2F/evil.example"),  # an encoded slash is a path segment, never a host
    ("/@evil.example", "/@evil.example"),
    ("/cong-dan", "/cong-dan"),
    ("/a\tb", "/ab"),                            # what the browser would request
    ("  /queue  ", "/queue"),
]


@pytest.mark.parametrize("target", HOSTILE)
def test_no_address_a_browser_reads_as_another_site_or_scheme_is_followed(target):
    assert local_path(target) is None


@pytest.mark.parametrize(("target", "expected"), LOCAL)
def test_local_paths_are_followed_as_the_browser_reads_them(target, expected):
    assert local_path(target) == expected
