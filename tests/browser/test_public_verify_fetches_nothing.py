"""Public verification on the real server (`docsvc serve`, both profiles)
fetches nothing a stranger's file names, asks an in-house CA on a private
address nothing unless the administrator allows it, and still checks the
development PKI's B-T signatures online. Listeners on 127.0.0.1, where the
certificates point, are the witnesses. No browser: the API, as a script calls it."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from signing.pki import DevPki, free_port, init_pki
from tests.listeners import Listener
from tests.pdfs import make_pdf, sample_paragraphs
from tests.signing.helpers import signed_while_online


@pytest.fixture(scope="module")
def decision(tmp_path_factory) -> bytes:
    path = tmp_path_factory.mktemp("fetch-docs") / "quyet-dinh.pdf"
    return make_pdf(path, "Quyết định số 15/QĐ-UBND", sample_paragraphs("binh-duong-cchc-2020.txt")[:2]).read_bytes()


@pytest.fixture(scope="module")
def stranger(tmp_path_factory, decision) -> tuple[DevPki, bytes]:
    """A CA this installation does not trust, and a B-LTA document it signed
    (signer, TSA and document time-stamp certificates all name its port)."""
    pki = init_pki(tmp_path_factory.mktemp("stranger-ca"), port=free_port())
    return pki, signed_while_online(pki, decision, "B-LTA")


@pytest.fixture(scope="module")
def inhouse(tmp_path_factory, decision) -> tuple[DevPki, bytes]:
    pki = init_pki(tmp_path_factory.mktemp("inhouse-ca"), port=free_port(), ca_name="CA nội bộ Sở TT&TT")
    return pki, signed_while_online(pki, decision, "B-T")


def verify(server, pdf: bytes) -> dict:
    # server.api waits 60 s at most: a server held by a silent URL fails here.
    status, report = server.api("POST", "/api/v1/verify?filename=van-ban.pdf", pdf,
                                headers={"Content-Type": "application/pdf"})
    assert status == 200, report
    return report


@pytest.mark.parametrize("mode", ["not_found", "silent"])
def test_a_strangers_file_makes_the_server_fetch_nothing(server, stranger, mode):
    pki, signed = stranger
    with Listener(mode, port=pki.port) as listener:
        report = verify(server, signed)

    assert listener.connections == 0, listener.requests
    assert report["verdict"] == "indeterminate"
    assert report["signatures"][0]["trusted"] is False


def test_a_trusted_ca_on_a_private_address_is_not_asked(server, inhouse):
    pki, signed = inhouse
    trust_store = Path(server.installation.settings().trust_store_dir)
    root = trust_store / "inhouse-root.pem"
    shutil.copyfile(pki.cert_path("root-ca"), root)  # the administrator trusts the in-house CA
    try:
        with Listener(port=pki.port) as listener:
            report = verify(server, signed)
    finally:
        root.unlink()

    assert listener.connections == 0, listener.requests
    [signature] = report["signatures"]
    assert signature["revocation"]["status"] == "unknown" and report["verdict"] == "indeterminate"
    assert any(r["code"] == "revocation_unknown_refused" and "not allowed by the verification policy" in r["message"]
               for r in signature["reasons"]), signature["reasons"]


def test_the_development_pkis_b_t_signature_is_still_checked_online(server, decision, tmp_path):
    draft, signed = tmp_path / "draft.pdf", tmp_path / "signed.pdf"
    draft.write_bytes(decision)
    p12 = Path(server.installation.env["DOCSVC_DATA_DIR"]) / "pki" / "official.p12"
    server.installation.run("sign", str(draft), str(signed), "--pkcs12", str(p12), "--passphrase-env", "P",
                            "--level", "B-T", extra_env={"P": "docsvc-dev"}, check=True)

    report = verify(server, signed.read_bytes())

    assert report["verdict"] == "valid", report
    assert report["signatures"][0]["revocation"]["source"] == "OCSP/CRL fetched online"
