"""What an operator watches, on both profiles: health says every dependency answers;
requests per route and reads the work from the database (outbox backlog,
OCR pages a minute, failed documents, signing jobs); it answers this
machine or a scraper with the token, nobody else. Every log line is JSON,
and the request id of an upload follows its document into the worker."""
from __future__ import annotations

import dataclasses
import json
import logging

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from docsvc import logs
from docsvc.app import create_app
from docsvc.models import Document, DocumentStatus, OutboxEntry
from docsvc.runtime import Runtime
from tests.integration.test_api_and_permissions import process_all
from tests.letters import Letter, scanned_letter
from tests.pdfs import make_pdf, sample_paragraphs


def _auth(user) -> dict:
    return {"Authorization": f"Bearer {user.token}"}


def _samples(client, **kwargs) -> dict[tuple, float]:
    response = client.get("/metrics", **kwargs)
    assert response.status_code == 200, response.status_code
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.get_data(as_text=True)) for s in family.samples}


def _one(samples: dict, name: str, **labels) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def test_metrics_count_requests_and_read_the_work_from_the_database(rt, clerk, tmp_path):
    letter = Letter(parent_body="ỦY BAN NHÂN DÂN", issuing_body="XÃ QUẢNG PHÚ", number_symbol="12/UBND-VP",
                    type_name="CÔNG VĂN", summary="Về việc cải cách hành chính")
    scan = scanned_letter(tmp_path / "cong-van.png", letter, kind="png")
    pdf = make_pdf(tmp_path / "bao-cao.pdf", "Báo cáo cải cách hành chính", sample_paragraphs("binh-duong-cchc-2020.txt")[:2])
    uploads = ("docsvc_http_request_duration_seconds_count", {"route": "/api/v1/documents", "method": "POST",
                                                               "status": "202"})
    before = _samples(clerk.client).get((uploads[0], tuple(sorted(uploads[1].items()))), 0)
    for path in (scan.path, pdf):
        assert clerk.post("/api/v1/documents", data={"file": (path.open("rb"), path.name)}).status_code == 202
    samples = _samples(clerk.client)
    # this process's count (other tests' requests are in it too): two more
    assert _one(samples, uploads[0], **uploads[1]) == before + 2
    assert _one(samples, "docsvc_outbox_backlog") == 2  # both wait for the worker
    assert _one(samples, "docsvc_outbox_oldest_age_seconds") >= 0

    process_all(rt)
    samples = _samples(clerk.client)
    with rt.read() as session:
        waiting = session.scalar(select(func.count()).select_from(OutboxEntry).where(OutboxEntry.done_at.is_(None)))
        failed = session.scalar(select(func.count()).where(Document.status == DocumentStatus.FAILED))
    assert _one(samples, "docsvc_outbox_backlog") == waiting == 0
    assert _one(samples, "docsvc_failed_documents") == failed == 0
    # The scan was OCRed (one page), the born-digital PDF was not.
    assert _one(samples, "docsvc_ocr_pages_per_minute") == 1 / 10
    assert _one(samples, "docsvc_signing_jobs", status="running") == 0
    assert _one(samples, "docsvc_http_request_duration_seconds_count",
                route="/metrics", method="GET", status="200") >= 1


def test_metrics_answer_this_machine_or_the_token_only(rt, clerk):
    stranger = {"environ_base": {"REMOTE_ADDR": "203.0.113.7"}}
    assert clerk.client.get("/metrics", **stranger).status_code == 404
    with_token = Runtime(dataclasses.replace(rt.settings, metrics_token="bi-mat-cua-prometheus"))
    try:
        client = create_app(runtime=with_token).test_client()
        assert client.get("/metrics", headers={"Authorization": "Bearer sai"}, **stranger).status_code == 404
        allowed = client.get("/metrics", headers={"Authorization": "Bearer bi-mat-cua-prometheus"}, **stranger)
        assert allowed.status_code == 200 and b"docsvc_outbox_backlog" in allowed.data
    finally:
        with_token.close()


def test_the_request_id_follows_an_upload_into_the_worker(rt, clerk, tmp_path, caplog):
    pdf = make_pdf(tmp_path / "to-trinh.pdf", "Tờ trình kế hoạch", sample_paragraphs("binh-duong-cchc-2020.txt")[2:4])
    caplog.handler.setFormatter(logs.JsonLines())
    with caplog.at_level(logging.INFO):
        uploaded = clerk.client.post("/api/v1/documents", data={"file": (pdf.open("rb"), "to-trinh.pdf")},
                                     headers={**_auth(clerk), "X-Request-Id": "kiem-tra-42"})
        assert uploaded.headers["X-Request-Id"] == "kiem-tra-42"
        with rt.read() as session:
            entry = session.scalar(select(OutboxEntry).order_by(OutboxEntry.id.desc()))
            assert entry.payload["request_id"] == "kiem-tra-42"
        process_all(rt)
    lines = [json.loads(caplog.handler.format(record)) for record in caplog.records]
    request_line = next(line for line in lines if line["message"] == "request")
    assert request_line["request_id"] == "kiem-tra-42" and request_line["status"] == 202
    worker_lines = [line for line in lines if line["logger"].startswith("docsvc.documents")]
    assert worker_lines and all(line["request_id"] == "kiem-tra-42" for line in worker_lines)


def test_a_hostile_request_id_is_replaced(clerk):
    for hostile in ('x" {"level":"error"}', "a" * 65, "../../etc/passwd\t"):
        answered = clerk.client.get("/api/v1/queue", headers={**_auth(clerk), "X-Request-Id": hostile})
        replaced = answered.headers["X-Request-Id"]
        assert replaced != hostile and replaced.isalnum() and len(replaced) == 32


def test_health_says_ok_with_every_dependency_up(rt, app):
    # Each dependency the profile uses is probed and answers (the outages are test_outages.py).
    response = app.test_client().get("/api/v1/health")
    body = response.get_json()
    assert (response.status_code, body["status"]) == (200, "ok"), body
    expected = {"database", "storage", "search"} | ({"broker"} if rt.shared_state is not None else set())
    assert set(body["dependencies"]) == expected and all(probe["ok"] for probe in body["dependencies"].values())
