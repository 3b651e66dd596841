"""The pages' side of the texts (docsvc/texts.py): the language of a request,
and the template helpers."""
from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from flask import Flask, g, request, session

from docsvc.localtime import local_time  # people read times in Vietnam's time; the database keeps UTC
from docsvc.texts import LANGUAGES, MESSAGES, reason_text, text
from signing.reasons import Reason


def translate(key: str, lang: str | None = None) -> str:
    return text(key, lang or current_language())


def reason(given: Reason) -> str:
    """A verification reason in the page's language."""
    return reason_text(given, current_language())


def current_language() -> str:
    return g.get("lang", "vi")


def error_messages(lang: str | None = None) -> dict[str, str]:
    """Page texts for the API's error codes, for scripts that show API errors."""
    return {key[len("error."):]: translate(key, lang) for key in MESSAGES if key.startswith("error.")}


def language_switch_url() -> str:
    """This page in the other language, keeping its query (a search, a `next`)."""
    other = "en" if current_language() == "vi" else "vi"
    args = [(k, v) for k, v in request.args.items(multi=True) if k != "lang"] + [("lang", other)]
    return f"{request.path}?{urlencode(args)}"


def number(value: int, lang: str | None = None) -> str:
    """A whole number as people write it: 10.000 in Vietnamese, 10,000 in English."""
    written = f"{value:,}"
    return written.replace(",", ".") if (lang or current_language()) == "vi" else written


def count_text(count) -> str:
    """A count of matches (docsvc.presenters.Count): "hơn 10.000" when the index stopped counting."""
    written = number(count.value)
    return written if count.exact else translate("search.more_than").format(n=written)


def local_date(value: date | str | None) -> str:
    """A day as people read it; an ISO date string (a JSON answer's) too."""
    if not value:
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value)
    return value.strftime("%d/%m/%Y" if current_language() == "vi" else "%d %b %Y")


def init_app(app: Flask, default_language: str) -> None:
    app.add_template_filter(local_time)
    app.add_template_filter(local_date)
    app.add_template_filter(number)
    app.add_template_filter(count_text)

    @app.before_request
    def _pick_language() -> None:
        chosen = request.args.get("lang")
        if chosen in LANGUAGES:
            session["lang"] = chosen
        g.lang = session.get("lang", default_language)

    @app.context_processor
    def _template_helpers():
        return {
            "t": translate,
            "reason": reason,
            "lang": current_language(),
            "language_switch_url": language_switch_url,
            "error_messages": error_messages,
        }
