"""The exchange's pages: the forms of the document page that ask a peer for
a sent document back (13) and answer such a request (15 or 16); what is
shown is in `views` and the outgoing part of the page."""
from __future__ import annotations

from flask import abort, request

from docsvc.exchange import statuses
from docsvc.models import User
from docsvc.web.blueprints import pages
from docsvc.web.context import runtime, session_user
from docsvc.web.document_page import act
from docsvc.web.requests import login_required


def _user() -> User:
    user = session_user()
    if user is None:  # login_required let no one else in
        abort(401)
    return user


@pages.post("/documents/<document_id>/exchange/recall")
@login_required
def request_recall(document_id: str):
    def ask() -> None:
        with runtime().write() as db:
            statuses.request_recall(db, _user(), document_id, request.form.get("to", ""),
                                    request.form.get("reason", ""))
    return act(document_id, ask)


@pages.post("/documents/<document_id>/exchange/recall-answer")
@login_required
def answer_recall(document_id: str):
    def answer() -> None:
        with runtime().write() as db:
            statuses.answer_recall(db, _user(), document_id, request.form.get("agree") == "1",
                                   request.form.get("reason", ""))
    return act(document_id, answer)
