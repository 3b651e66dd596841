"""docker-compose's web service, run as compose runs it: its own gunicorn
command line (two worker processes, docsvc/gunicorn_config.py), on a port of
this machine. An operator scraping /metrics sees the requests of both
processes in every scrape, and reads every line the server writes, gunicorn's
own included, as JSON."""
from __future__ import annotations

import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[2]
HEALTH_REQUESTS = 160


def compose_web_command() -> list[str]:
    command = list(yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["web"]["command"])
    assert command[0] == "gunicorn"
    command[command.index("--bind") + 1] = "127.0.0.1:{port}"
    # The image's gunicorn is this interpreter's.
    return [sys.executable, "-m", "gunicorn", *command[1:]]


def health_requests_counted(srv) -> float:
    status, _, body = srv.request("GET", "/metrics")
    assert status == 200, body[:300]
    return sum(sample.value for family in text_string_to_metric_families(body.decode())
               for sample in family.samples
               if sample.name == "docsvc_http_request_duration_seconds_count"
               and sample.labels.get("route") == "/api/v1/health")


def json_lines(text: str) -> tuple[list[dict], list[str]]:
    parsed, other = [], []
    for line in filter(str.strip, text.splitlines()):
        try:
            value = json.loads(line)
        except ValueError:
            value = None
        (parsed.append(value) if isinstance(value, dict) else other.append(line))
    return parsed, other


def test_compose_web_counts_requests_of_every_process_and_logs_json(start_server):
    command = compose_web_command()
    workers = int(command[command.index("--workers") + 1])
    assert workers >= 2
    srv = start_server(command=command)
    before = health_requests_counted(srv)

    # Concurrent clients keep both processes busy, so both answer some; on a
    # loaded machine one may take a whole round, so rounds go on (a few at
    # most) until each process has answered.
    sent, answered_by, lines = 0, set(), []
    for _ in range(10):
        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(lambda _: srv.request("GET", "/api/v1/health")[0], range(HEALTH_REQUESTS)))
        assert statuses == [200] * HEALTH_REQUESTS
        sent += HEALTH_REQUESTS
        lines, not_json = json_lines(srv.log_path.read_text(errors="replace"))
        assert not not_json, not_json[:5]
        answered_by = {line["pid"] for line in lines if line.get("path") == "/api/v1/health"}
        if len(answered_by) >= workers:
            break
    assert sum("Booting worker" in line["message"] for line in lines) == workers
    assert len(answered_by) == workers, answered_by

    # Each scrape is answered by one process or the other; each sees them all.
    assert {health_requests_counted(srv) - before for _ in range(12)} == {sent}
