"""A record's retention category is a typed value read from the record:
a citizen's procedure result is kept 20 years, never the 5 of an e-copy,
and a category or kind nobody defined is refused rather than defaulted."""
from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from docsvc.models import Document, Ecopy, EcopyKind, Workflow
from docsvc.signatures.retention import (
    ECOPY_CATEGORY,
    RETENTION_YEARS,
    RetentionCategory,
    record_terms,
    retention_until,
)

ISSUED_AT = datetime(2026, 3, 15, 3, 0, tzinfo=UTC)  # 10:00 in Vietnam


def result_given_to_a_citizen(kind) -> tuple[Document, Ecopy]:
    return Document(id="result", title="Giấy phép xây dựng"), Ecopy(kind=kind, issued_at=ISSUED_AT)


def test_a_procedure_result_is_kept_twenty_years():
    terms = record_terms(*result_given_to_a_citizen(EcopyKind.PROCEDURE_RESULT))
    assert terms.category is RetentionCategory.PROCEDURE_RESULT
    assert terms.until == datetime(2046, 3, 15, 17, 0, tzinfo=UTC)


def test_a_certified_copy_is_kept_five_years():
    terms = record_terms(*result_given_to_a_citizen(EcopyKind.CERTIFIED_COPY))
    assert terms.category is RetentionCategory.ECOPY
    assert terms.until == datetime(2031, 3, 15, 17, 0, tzinfo=UTC)


def test_an_issued_decision_given_as_a_result_keeps_the_longer_period():
    document, ecopy = result_given_to_a_citizen(EcopyKind.PROCEDURE_RESULT)
    document.workflow_status, document.issued_date = Workflow.ISSUED, date(2026, 3, 15)
    assert record_terms(document, ecopy).category is RetentionCategory.OUTGOING


def test_every_category_has_a_period_and_every_kind_of_e_copy_a_category():
    assert set(RETENTION_YEARS) == set(RetentionCategory)
    assert set(ECOPY_CATEGORY) == set(EcopyKind)


@pytest.mark.parametrize("category", ["draft", "procedure-result", "PROCEDURE_RESULT", ""])
def test_an_unknown_category_is_refused(category):
    with pytest.raises(ValueError, match="no retention period for category"):
        retention_until(category, date(2026, 3, 15))


def test_an_unknown_kind_of_e_copy_gets_no_period_by_default():
    with pytest.raises(ValueError, match="is not a valid EcopyKind"):
        record_terms(*result_given_to_a_citizen("procedure-result"))
