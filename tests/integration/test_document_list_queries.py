"""A list of documents costs the same few queries however long it is.

Every document's JSON carries its files and, since edXML exchange, the
packages it was sent or received in with their statuses; loaded one
document at a time, a page of 50 would cost over a hundred queries. The
test counts the SQL statements `GET /api/v1/documents` runs for a short
and a long list of documents that each have a package and statuses."""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import event, select

from docsvc.models import Agency, Document, ExchangeDirection, ExchangeMessage, ExchangeStatus, Workflow


def _add_documents(rt, count: int, start: int) -> None:
    with rt.write() as session:
        agency = session.scalar(select(Agency).where(Agency.code == "UBND-XA"))
        for n in range(start, start + count):
            doc = Document(agency_id=agency.id, title=f"Công văn số {n}", workflow_status=Workflow.ISSUED)
            session.add(doc)
            session.flush()
            message = ExchangeMessage(direction=ExchangeDirection.SENT, document_id=doc.id,
                                      edxml_document_id=f"000.00.00.H41,2026/12/01,{n}/UBND",
                                      from_org="000.00.00.H41", to_org="000.00.00.G22")
            message.statuses = [ExchangeStatus(code="01", stated_at=datetime.now(UTC)),
                                ExchangeStatus(code="03", stated_at=datetime.now(UTC))]
            session.add(message)


def _statements_listing(rt, admin) -> tuple[int, dict]:
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(rt.engine, "before_cursor_execute", count)
    try:
        response = admin.get("/api/v1/documents?per_page=50")
    finally:
        event.remove(rt.engine, "before_cursor_execute", count)
    assert response.status_code == 200, response.get_json()
    return len(statements), response.get_json()


def test_listing_documents_does_not_query_once_per_document(rt, make_user):
    admin = make_user("admin", agency=None)
    _add_documents(rt, 2, start=1)
    few, listed = _statements_listing(rt, admin)
    assert listed["total"] == 2
    _add_documents(rt, 20, start=3)
    many, listed = _statements_listing(rt, admin)
    assert listed["total"] == 22
    # What the list shows of each document's package: its recipient and the statuses in order.
    for doc in listed["documents"]:
        [package] = doc["workflow"]["exchange"]
        assert package["to"] == "000.00.00.G22"
        assert [s["code"] for s in package["statuses"]] == ["01", "03"]
    assert many == few, (few, many)
