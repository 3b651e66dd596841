"""A forger edits a signed decision; the citizen's verifier must not say valid.

Each forgery is one an attacker can make without the key: change bytes the
signature covers, or append an incremental update (new page, swapped page
object, content drawn over the text) that leaves the signed bytes intact.
"""
from __future__ import annotations

import io

import pytest

from signing import ReasonCode, verify_pdf
from tests.signing import helpers
from tests.signing.helpers import codes, pdfsig, pdfsig_blocks


@pytest.fixture(scope="module")
def signed_decision(decision_pdf, official, trust) -> bytes:
    from signing import sign_pdf

    out = io.BytesIO()
    sign_pdf(io.BytesIO(decision_pdf), out, official, level="B-LT", trust=trust)
    return out.getvalue()


def test_changing_a_byte_inside_the_signed_range_breaks_the_signature(signed_decision, trust, tmp_path, nssdb):
    forged = helpers.flip_byte_in_signed_range(signed_decision)

    report = verify_pdf(io.BytesIO(forged), trust)

    assert report.verdict == "invalid"
    assert report.signatures[0].intact is False
    assert ReasonCode.CONTENT_ALTERED in codes(report.signatures[0].reasons)
    path = tmp_path / "forged.pdf"
    path.write_bytes(forged)
    assert "Signature is Valid." not in pdfsig_blocks(pdfsig(path, nssdb))["signature-1"]


@pytest.mark.parametrize("forge", [helpers.append_page, helpers.replace_first_page, helpers.overlay_content],
                         ids=["new page appended", "page object replaced", "content drawn over the text"])
def test_an_incremental_update_after_signing_is_caught_by_difference_analysis(forge, signed_decision, trust):
    forged = forge(signed_decision)

    report = verify_pdf(io.BytesIO(forged), trust)

    signature = report.signatures[0]
    assert signature.intact  # the signed bytes themselves are untouched...
    assert signature.modifications == "other"  # ...but what came after is not allowed
    assert signature.verdict == report.verdict == "invalid"
    [changed] = [r for r in signature.reasons if r.code == ReasonCode.MODIFIED_AFTER_SIGNING]
    assert changed.params["change"] == "other" and "changed after signing" in changed.message


def test_even_a_comment_added_after_issuing_is_not_accepted(signed_decision, trust):
    # An annotation can be drawn over the signed text; an issued decision
    # must not gain any, so the verifier does not call it valid.
    annotated = helpers.add_sticky_note(signed_decision)

    report = verify_pdf(io.BytesIO(annotated), trust)

    assert report.signatures[0].intact
    assert report.signatures[0].modifications in ("annotations", "other")
    assert report.verdict == "invalid"


def test_forging_the_personal_signature_under_a_valid_seal_is_caught(decision_pdf, official, agency, sign, trust):
    personal = sign(decision_pdf, official, level="B-T")
    sealed = sign(personal, agency, level="B-T")
    # The forger edits inside the first revision, covered by both signatures.
    forged = helpers.flip_byte_in_signed_range(sealed)

    report = verify_pdf(io.BytesIO(forged), trust)

    assert report.verdict == "invalid"
    assert [s.intact for s in report.signatures] == [False, False]
