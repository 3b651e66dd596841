"""A citizen reads why a signature failed in Vietnamese, an auditor in
English, a program by its code: every verification reason has all three."""
from __future__ import annotations

import string
import subprocess
import sys

import pytest

from docsvc.texts import MESSAGES, REASONS_VIETNAMESE, reason_text, text
from signing.reasons import ENGLISH, ReasonCode, reason

SAMPLES = {"date": "2025-03-04T17:30:00+00:00", "datetime": "2025-03-04T17:30:00+00:00",
           "revocation_reason": "superseded", "change": "annotations"}


def _fields(template: str) -> dict[str, str]:
    """Each parameter a template names, with a sample value of its kind."""
    return {name: SAMPLES.get(spec, "chi-tiet") for _, name, spec, _ in string.Formatter().parse(template) if name}


def test_every_reason_code_has_a_vietnamese_and_an_english_text():
    for code in ReasonCode:
        texts = MESSAGES[f"reason.{code}"]
        assert texts["vi"] and texts["en"], code
    assert set(REASONS_VIETNAMESE) == set(ENGLISH)  # the variants for unknown params too


@pytest.mark.parametrize("key", sorted(ENGLISH))
@pytest.mark.parametrize("lang", ["vi", "en"])
def test_every_reason_renders_with_its_params(key, lang):
    params = _fields(ENGLISH[key]) | _fields(MESSAGES[f"reason.{key}"][lang])
    rendered = text(f"reason.{key}", lang, **params)
    assert "{" not in rendered and "revocation_reason." not in rendered and "change." not in rendered
    assert "2025-03" not in rendered  # dates are written the Vietnamese way, never ISO


def test_dates_read_as_in_vietnam_and_english_stays_as_it_was():
    # 17:30 UTC on 4 March is already 5 March in Hà Nội.
    expired = reason(ReasonCode.CERTIFICATE_EXPIRED, date="2025-03-04T17:30:00+00:00")

    assert reason_text(expired, "vi") == "Chứng thư số đã hết hạn ngày 05/03/2025, trước thời điểm ký."
    assert reason_text(expired, "en") == "The certificate expired on 05/03/2025, before the document was signed."
    assert expired.message == "The certificate expired on 2025-03-04T17:30:00+00:00, before the document was signed."
    assert expired.to_json() == {"code": "certificate_expired", "params": {"date": "2025-03-04T17:30:00+00:00"},
                                 "message": expired.message}


def test_a_revocation_reads_with_its_reason_and_without_a_date_when_none_is_known():
    revoked = reason(ReasonCode.REVOKED_AFTER_SIGNING, date="2026-01-10T09:00:00+07:00",
                     revocation_reason="affiliation_changed", timestamp="2025-12-01T14:05:00+07:00")
    undated = reason(ReasonCode.CERTIFICATE_REVOKED, date=None, revocation_reason=None)

    assert reason_text(revoked, "vi") == (
        "Chứng thư số đã bị thu hồi ngày 10/01/2026 (lý do: thay đổi cơ quan, đơn vị công tác), sau thời điểm ký "
        "được dấu thời gian chứng minh (01/12/2025 14:05); chữ ký vẫn có giá trị.")
    assert "(an affiliation change)" in revoked.message  # pyHanko's wording, as reports said before codes
    assert reason_text(undated, "vi") == ("Chứng thư số đã bị thu hồi và không có bằng chứng văn bản được ký trước "
                                          "khi thu hồi.")
    assert undated.message == "The certificate was revoked, and nothing proves the document was signed before."


def test_the_texts_need_no_web_framework_and_signing_needs_no_service():
    # Flask made unimportable, and the package's own __init__ (the app) skipped:
    # the printable report and the command line render reasons without the web.
    probe = ("import sys, types; sys.modules['flask'] = None; package = types.ModuleType('docsvc'); "
             "package.__path__ = ['docsvc']; sys.modules['docsvc'] = package; import docsvc.texts, docsvc.signatures.report_pdf")
    subprocess.run([sys.executable, "-c", probe], check=True)
    subprocess.run([sys.executable, "-c", "import sys, signing; assert not any(m.startswith('docsvc') "
                    "for m in sys.modules)"], check=True)


def test_the_api_description_lists_every_reason_code():
    from pathlib import Path

    import yaml

    described = yaml.safe_load(Path("docsvc/openapi.yaml").read_text(encoding="utf-8"))
    schema = described["components"]["schemas"]["VerificationReason"]
    assert schema["properties"]["code"]["enum"] == [str(code) for code in ReasonCode]
