"""A second, independent validator agrees: what docsvc signs is valid for the
EU's DSS library (Digital Signature Service, eu.europa.ec.joinup.sd-dss, run
by scripts/validators/dss.sh), not only for pyHanko and poppler's pdfsig.

Policy: DSS's *default* validation policy, unchanged (policy/constraint.xml
of dss-policy-jaxb), with the development root as the only trust anchor
(a CommonTrustedCertificateSource, no EU trusted list). The AdES indication
DSS gives under it does not depend on the certificate being *qualified*: DSS
reports qualification separately (SignatureQualification), and for a root
that comes from no trusted list that is "NA" (not applicable). So a
correctly signed document must reach TOTAL_PASSED, with no errors, at every
level, and we assert exactly that, plus qualification "NA" so a change in
how DSS judges our dev CA shows up here. No policy was relaxed.

DSS fetches revocation data online only from 127.0.0.1 (the dev PKI's
services, which run for the whole session); --offline switches that off to
check what a B-LT/B-LTA document carries by itself.
"""
from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

import pytest

from signing import AgencySeal, Box, PersonSignature
from signing.sign import sign_pdf
from tests.signing.helpers import flip_byte_in_signed_range

ROOT = Path(__file__).resolve().parents[2]
DSS_SH = ROOT / "scripts" / "validators" / "dss.sh"

LEVELS = ("B-B", "B-T", "B-LT", "B-LTA")
DSS_FORMAT = {level: f"PAdES-BASELINE-{level[2:]}" for level in LEVELS}
TSA = "docsvc Dev TSA"
# The agency's seal is drawn over the left third of the chairman's signature
# on purpose (Decree 30/2020); DSS's visual check notes the overlap as a
# warning, never as an error.
SEAL_OVERLAP = "Elements overlap on page(s) [1]"
SIGNATURE_BOX = Box(page=0, x=360, y=420, width=150, height=60)  # as in test_decree30_appearance


@pytest.fixture(scope="session")
def dss():
    """dss(files, trust=ROOT.pem, offline=False) -> {file name: [signature, ...]}.

    Builds the validator once per session (cached across runs). A missing
    Java/Maven or a failed build FAILS the tests that need it: a second
    validator that silently does not run proves nothing.
    """
    built = subprocess.run([str(DSS_SH), "install"], capture_output=True, text=True, timeout=900)
    if built.returncode != 0:
        pytest.fail(f"{DSS_SH} install failed ({built.returncode}):\n{built.stdout}\n{built.stderr}")

    def run(files: list[Path], *, trust: Path, offline: bool = False) -> dict[str, list[dict]]:
        args = [str(DSS_SH), "validate"] + (["--offline"] if offline else []) + ["--trust", str(trust)]
        result = subprocess.run(args + [str(f) for f in files], capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
        lines = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
        by_file: dict[str, list[dict]] = {}
        for line in lines:
            assert "error" not in line, line
            by_file.setdefault(Path(line["file"]).name, []).append(line)
        assert set(by_file) == {f.name for f in files}, result.stdout + result.stderr
        return by_file

    return run


@pytest.fixture(scope="module")
def documents(tmp_path_factory, decision_pdf, official, agency, trust, signature_image, seal_image) -> dict[str, Path]:
    """Every document this module shows to DSS, signed once."""
    folder = tmp_path_factory.mktemp("dss")

    def sign(pdf: bytes, key, **options) -> bytes:
        out = io.BytesIO()
        sign_pdf(io.BytesIO(pdf), out, key, trust=trust, **options)
        return out.getvalue()

    docs = {f"signed-{level}.pdf": sign(decision_pdf, official, level=level, reason="Ký ban hành",
                                        location="xã Mẫu") for level in LEVELS}
    # Decree 30: the chairman signs (B-T), the văn thư seals for the agency (B-LTA).
    personal = sign(decision_pdf, official, level="B-T", appearance=PersonSignature(signature_image, SIGNATURE_BOX))
    docs["chairman-and-seal.pdf"] = sign(personal, agency, level="B-LTA",
                                         appearance=AgencySeal(seal_image, "UBND xã Mẫu", over="person-1"))
    docs["tampered-B-T.pdf"] = flip_byte_in_signed_range(docs["signed-B-T.pdf"])
    docs["tampered-B-LTA.pdf"] = flip_byte_in_signed_range(docs["signed-B-LTA.pdf"])
    paths = {}
    for name, data in docs.items():
        paths[name] = folder / name
        paths[name].write_bytes(data)
    return paths


@pytest.fixture(scope="module")
def verdicts(dss, documents, pki) -> dict[str, list[dict]]:
    """All documents in one JVM, online revocation from the dev PKI."""
    return dss(list(documents.values()), trust=pki.cert_path("root-ca"))


@pytest.fixture(scope="module")
def offline_verdicts(dss, documents, pki) -> dict[str, list[dict]]:
    names = ["signed-B-B.pdf", "signed-B-LT.pdf", "signed-B-LTA.pdf", "chairman-and-seal.pdf"]
    return dss([documents[n] for n in names], trust=pki.cert_path("root-ca"), offline=True)


def timestamps(signature: dict) -> list[tuple[str, str, str]]:
    return sorted((t["type"], t["indication"], t["producedBy"]) for t in signature["timestamps"])


@pytest.mark.parametrize("level", LEVELS)
def test_dss_passes_each_level_and_names_its_baseline_format(level, verdicts):
    [signature] = verdicts[f"signed-{level}.pdf"]

    assert signature["indication"] == "TOTAL_PASSED", signature
    assert signature["subIndication"] is None
    assert signature["errors"] == [] and signature["warnings"] == []
    assert signature["signatureFormat"] == DSS_FORMAT[level]
    assert signature["qualification"] == "NA"  # dev root: in no trusted list, see the module docstring
    assert signature["signedBy"] == "Nguyễn Văn An"
    expected = {
        "B-B": [],
        "B-T": [("SIGNATURE_TIMESTAMP", "PASSED", TSA)],
        "B-LT": [("SIGNATURE_TIMESTAMP", "PASSED", TSA)],
        "B-LTA": [("DOCUMENT_TIMESTAMP", "PASSED", TSA), ("SIGNATURE_TIMESTAMP", "PASSED", TSA)],
    }[level]
    assert timestamps(signature) == expected


def test_chairman_and_agency_seal_both_pass_in_dss(verdicts):
    person, seal = verdicts["chairman-and-seal.pdf"]

    assert (person["field"], seal["field"]) == ("person-1", "agency-1")
    assert (person["signedBy"], seal["signedBy"]) == ("Nguyễn Văn An", "UBND xã Mẫu")
    for signature in (person, seal):
        assert signature["indication"] == "TOTAL_PASSED", signature
        assert signature["errors"] == []
        assert set(signature["warnings"]) <= {SEAL_OVERLAP}
    # The chairman signed B-T; the agency's B-LTA seal put the validation
    # data of his certificate in the DSS too, under its document time-stamp,
    # which makes his signature long-term as well (PAdES augmentation).
    assert person["signatureFormat"] == "PAdES-BASELINE-LTA"
    assert seal["signatureFormat"] == "PAdES-BASELINE-LTA"
    assert ("DOCUMENT_TIMESTAMP", "PASSED", TSA) in timestamps(person)


@pytest.mark.parametrize("name", ["tampered-B-T.pdf", "tampered-B-LTA.pdf"])
def test_one_byte_changed_inside_the_signed_range_fails_in_dss(name, verdicts):
    [signature] = verdicts[name]

    assert signature["indication"] == "TOTAL_FAILED", signature
    assert signature["subIndication"] == "HASH_FAILURE"
    if name == "tampered-B-LTA.pdf":  # the document time-stamp sees it too
        assert ("DOCUMENT_TIMESTAMP", "FAILED", TSA) in timestamps(signature)


@pytest.mark.parametrize("level", ["B-LT", "B-LTA"])
def test_lt_and_lta_pass_in_dss_from_what_the_document_embeds(level, offline_verdicts):
    [signature] = offline_verdicts[f"signed-{level}.pdf"]

    assert signature["indication"] == "TOTAL_PASSED", signature
    assert signature["signatureFormat"] == DSS_FORMAT[level]


def test_offline_dss_cannot_conclude_on_b_b(offline_verdicts):
    """The control for the test above: offline really is offline, and a B-B
    document carries no revocation data of its own."""
    [signature] = offline_verdicts["signed-B-B.pdf"]

    assert signature["indication"] == "INDETERMINATE"
    assert signature["subIndication"] == "CERTIFICATE_CHAIN_GENERAL_FAILURE"
    assert "No revocation data found for the certificate!" in signature["errors"]


def test_the_agency_seal_passes_in_dss_from_what_the_document_embeds(offline_verdicts):
    _, seal = offline_verdicts["chairman-and-seal.pdf"]

    assert seal["indication"] == "TOTAL_PASSED", seal
    assert seal["signatureFormat"] == "PAdES-BASELINE-LTA"


def test_a_sealed_document_keeps_the_chairmans_signature_verifiable_offline(offline_verdicts):
    """The seal embeds the validation data (certificates, OCSP/CRL) of the
    chairman's earlier signature and of its time-stamp, not only its own."""
    person, _ = offline_verdicts["chairman-and-seal.pdf"]

    assert person["indication"] == "TOTAL_PASSED", person
    assert person["errors"] == []
    assert person["signatureFormat"] == "PAdES-BASELINE-LTA"


def test_dss_does_not_trust_a_chain_to_another_root(dss, documents, stranger_pki):
    [signature] = dss([documents["signed-B-T.pdf"]], trust=stranger_pki.cert_path("root-ca"))["signed-B-T.pdf"]

    assert signature["indication"] == "INDETERMINATE"
    assert signature["subIndication"] == "NO_CERTIFICATE_CHAIN_FOUND"
