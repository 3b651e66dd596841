"""An official signs from the command line; anyone verifies, from the command
line, the API or the public page, without signing in."""
from __future__ import annotations

import hashlib
import io
import json
import subprocess

import pytest

from tests.pdfs import make_pdf, sample_paragraphs

SIGNATURE_KEYS = {"signer", "signing_time", "timestamp", "level", "intact", "trusted", "revocation",
                  "modifications", "verdict", "reasons"}
ALTERED_VI = "Nội dung đã bị thay đổi sau khi ký (chữ ký không còn khớp)."
ALTERED_EN = "The signed content was altered after signing (the signature no longer matches)."


@pytest.fixture(scope="module")
def signed(tmp_path_factory):
    """An installation with its development PKI, a decision, and that decision signed at B-LTA."""
    from tests.conftest import make_installation

    folder = tmp_path_factory.mktemp("signing")
    installation_iter = make_installation("embedded", folder)
    installation = next(installation_iter)
    installation.run("db", "upgrade", check=True)
    installation.run("pki", "init", check=True)
    draft = make_pdf(folder / "quyet-dinh.pdf", "Quyết định số 15/QĐ-UBND", sample_paragraphs("binh-duong-cchc-2020.txt")[:3])
    out = folder / "quyet-dinh-da-ky.pdf"
    p12 = folder / "var" / "pki" / "official.p12"
    result = installation.run(
        "sign", str(draft), str(out), "--pkcs12", str(p12), "--passphrase-env", "DOCSVC_TEST_PASSPHRASE",
        "--level", "B-LTA", "--appearance", "copy", "--agency-name", "UBND xã Mẫu",
        extra_env={"DOCSVC_TEST_PASSPHRASE": "docsvc-dev"}, check=True,
    )
    assert "Nguyễn Văn An" in result.stdout
    yield installation, draft, out, p12
    next(installation_iter, None)


def test_a_signed_decision_verifies_valid(signed):
    installation, draft, out, _ = signed
    result = installation.run("verify", str(out), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["verdict"] == "valid"
    [signature] = report["signatures"]
    assert set(signature) >= SIGNATURE_KEYS
    assert signature["signer"] == "Nguyễn Văn An"
    assert signature["level"] == "B-LTA" and signature["intact"] and signature["trusted"]
    assert signature["signing_time"].endswith("+07:00")
    # The signed file begins with the draft, byte for byte (an incremental update).
    assert out.read_bytes().startswith(draft.read_bytes())


@pytest.fixture
def forged(signed, tmp_path):
    _, draft, out, _ = signed
    data = bytearray(out.read_bytes())
    # Inside the draft's bytes, which the signature covers.
    data[len(draft.read_bytes()) // 2] ^= 0x01
    path = tmp_path / "forged.pdf"
    path.write_bytes(bytes(data))
    return path


def test_one_changed_byte_makes_it_invalid(signed, forged):
    installation = signed[0]
    result = installation.run("verify", str(forged), "--json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["verdict"] == "invalid"
    [altered] = [r for r in report["signatures"][0]["reasons"] if r["code"] == "content_altered"]
    assert altered == {"code": "content_altered", "params": {}, "message": ALTERED_EN}


def test_the_command_tells_why_in_vietnamese_or_in_english(signed, forged):
    installation = signed[0]
    vietnamese = installation.run("verify", str(forged), "--lang", "vi")
    english = installation.run("verify", str(forged), "--lang", "en")
    default = installation.run("verify", str(forged))

    assert vietnamese.returncode == english.returncode == 1
    assert ALTERED_VI in vietnamese.stdout and ALTERED_EN not in vietnamese.stdout
    assert ALTERED_EN in english.stdout and ALTERED_VI not in english.stdout
    assert default.stdout == vietnamese.stdout


def test_an_unsigned_or_broken_file_is_reported_not_crashed(signed, tmp_path):
    installation, draft, _, _ = signed
    for name, content in (("unsigned.pdf", draft.read_bytes()), ("broken.pdf", b"%PDF-1.7\nrubbish")):
        path = tmp_path / name
        path.write_bytes(content)
        result = installation.run("verify", str(path), "--json")
        assert result.returncode == 1, result.stderr
        report = json.loads(result.stdout)
        assert report["verdict"] in ("invalid", "indeterminate") and report["reasons"]


def test_a_wrong_passphrase_is_one_line_and_writes_nothing(signed, tmp_path):
    installation, draft, _, p12 = signed
    out = tmp_path / "never.pdf"
    result = installation.run("sign", str(draft), str(out), "--pkcs12", str(p12), "--passphrase-env", "P",
                              extra_env={"P": "sai-mat-khau"})
    assert result.returncode == 2
    assert result.stderr.strip().endswith("(wrong_passphrase)") and len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_anyone_verifies_through_the_api_and_the_public_page(signed):
    from docsvc.app import create_app
    from docsvc.runtime import Runtime

    installation, _, out, _ = signed
    app = create_app(runtime=Runtime(installation.settings()))
    client = app.test_client()  # nobody signed in
    response = client.post("/api/v1/verify", data={"file": (io.BytesIO(out.read_bytes()), "qd.pdf")},
                           content_type="multipart/form-data")
    assert response.status_code == 200
    assert response.get_json()["verdict"] == "valid"

    empty = client.post("/api/v1/verify", data=b"", content_type="application/pdf")
    assert empty.status_code == 400 and empty.get_json()["code"] == "empty_file"

    app.config["WTF_CSRF_ENABLED"] = False  # the form's token is exercised in the browser suite
    page = client.post("/verify", data={"file": (io.BytesIO(out.read_bytes()), "qd-da-ky.pdf")},
                       content_type="multipart/form-data").get_data(as_text=True)
    assert 'data-verdict="valid"' in page and "Hợp lệ" in page and "Nguyễn Văn An" in page


def test_the_report_prints_as_a_pdf_in_vietnamese(signed, forged, tmp_path):
    from docsvc.app import create_app
    from docsvc.runtime import Runtime

    installation, _, out, _ = signed
    client = create_app(runtime=Runtime(installation.settings())).test_client()
    response = client.post("/api/v1/verify?format=pdf", data={"file": (io.BytesIO(out.read_bytes()), "qd-da-ky.pdf")},
                           content_type="multipart/form-data")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    report = tmp_path / "bao-cao.pdf"
    report.write_bytes(response.data)
    text = subprocess.run(["pdftotext", str(report), "-"], capture_output=True, text=True, check=True).stdout
    assert "Kết luận: Hợp lệ" in text and "Nguyễn Văn An" in text and "qd-da-ky.pdf" in text
    assert hashlib.sha256(out.read_bytes()).hexdigest() in text.replace("\n", "")
    vietnamese = client.post("/api/v1/verify?format=pdf", data=forged.read_bytes(), content_type="application/pdf")
    text = _pdf_text(vietnamese.data, tmp_path / "bao-cao-sai.pdf")
    assert "Kết luận: Không hợp lệ" in text and ALTERED_VI in text and ALTERED_EN not in text, text
    english = client.post("/api/v1/verify?format=pdf&lang=en", data=forged.read_bytes(),
                          content_type="application/pdf")
    text = _pdf_text(english.data, tmp_path / "report.pdf")
    assert "Verdict: Invalid" in text and ALTERED_EN in text


def _pdf_text(pdf: bytes, path) -> str:
    """The report's words as a reader reads them: lines wrapped by the layout joined again."""
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return " ".join(text.split())
