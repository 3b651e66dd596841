"""The report of `docsvc check` stays small however much is damaged: every
problem is counted, the first few of each kind are listed."""
from __future__ import annotations

from docsvc.upkeep import IntegrityReport, Problem
from docsvc.upkeep.check import SHOWN_PER_KIND


def test_every_problem_is_counted_and_the_first_of_each_kind_listed():
    report = IntegrityReport()
    assert report.ok and report.to_json()["found"] == {}
    for n in range(SHOWN_PER_KIND + 5):
        report.add(Problem("objects", "unreferenced", "a stored object no row refers to", key=f"sha256/{n}"))
    report.add(Problem("audit", "tampered", "the audit log has been altered", event_id=7))
    report.count_unlisted("index", "missing", 3)

    data = report.to_json()
    assert not data["ok"]
    assert data["found"] == {"audit": {"tampered": 1}, "index": {"missing": 3},
                             "objects": {"unreferenced": SHOWN_PER_KIND + 5}}
    listed = [(p["check"], p.get("key") or p.get("event_id")) for p in data["problems"]]
    assert listed == [("objects", f"sha256/{n}") for n in range(SHOWN_PER_KIND)] + [("audit", 7)]
    assert "document_id" not in data["problems"][0]  # absent names are left out, not null
