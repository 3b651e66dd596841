"""An edXML message written by docsvc and read back: the same header, the
same PDF bytes, its signature checked against the trust store; tampered,
untrusted, malformed and hostile messages refused with their reason."""
from __future__ import annotations

import shutil
from datetime import date, datetime

import pytest
from lxml import etree

from docsvc.exchange import edxml, xmlsig
from docsvc.exchange import status as edxml_status
from signing import Pkcs12Key
from signing.pki import init_pki

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"
LIMIT = 1024 * 1024


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return init_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def trust(pki, tmp_path_factory):
    folder = tmp_path_factory.mktemp("trust")
    shutil.copyfile(pki.cert_path("root-ca"), folder / "root.pem")
    return str(folder)


def header(**changes) -> edxml.Header:
    fields = dict(
        sender=edxml.Organization("000.00.00.H41", "UBND xã Mẫu", address="Xã Mẫu, huyện Quảng Trạch",
                                  email="ubnd@mau.gov.vn", telephone="0232 3826 123"),
        receivers=(edxml.Organization("000.00.00.G22", "Văn phòng Chính phủ"),),
        code_number="15", code_notation="QĐ-UBND", place="Quảng Trạch", promulgation_date=date(2026, 11, 30),
        type_code="QĐ", type_name="Quyết định", subject="Phê duyệt kế hoạch cải cách hành chính năm 2026",
        signer=edxml.Signer("TM. ỦY BAN NHÂN DÂN", "Phó Chủ tịch", "Nguyễn Văn An"),
        traces=(edxml.Trace("000.00.00.H41", datetime(2026, 11, 30, 9, 15, 4)),),
        due_date=date(2026, 12, 15), priority=1, page_amount=3, promulgation_amount=2,
        to_places=("Văn phòng Chính phủ", "Lưu: VT"),
        response_for=edxml.ResponseFor("000.00.00.G22", "7816/VPCP-TTĐT", date(2026, 11, 1),
                                       "000.00.00.G22,2026/11/01,7816/VPCP-TTĐT"),
    )
    fields.update(changes)
    return edxml.Header(**fields)


def signed_bytes(pki, package: edxml.Package) -> bytes:
    with Pkcs12Key(pki.p12_path("agency"), pki.passphrase) as key:
        return edxml.to_bytes(xmlsig.sign(edxml.message_tree(package), key))


def received(data: bytes, trust: str) -> tuple[edxml.Package, xmlsig.Verified]:
    verified = xmlsig.verify(edxml.parse_bytes(data, LIMIT * 2), trust)
    return edxml.read(verified.signed, LIMIT), verified


@pytest.fixture(scope="module")
def package_bytes(pki):
    return signed_bytes(pki, edxml.Package(header(), (edxml.Attachment("15-QD-UBND.pdf", "application/pdf", PDF),)))


def test_what_is_built_reads_back_the_same(package_bytes, trust):
    package, verified = received(package_bytes, trust)
    assert package.header == header()
    assert package.header.document_id == "000.00.00.H41,2026/11/30,15/QĐ-UBND"
    assert package.pdf().data == PDF  # base64 decodes to exactly the bytes sent
    assert verified.signer  # the agency certificate's holder


def test_the_message_carries_the_standard_names(package_bytes):
    root = etree.fromstring(package_bytes)
    ns = {"e": edxml.NS}
    assert root.findtext("e:edXMLEnvelope/e:edXMLHeader/e:MessageHeader/e:DocumentId", namespaces=ns) == \
        "000.00.00.H41,2026/11/30,15/QĐ-UBND"
    assert root.findtext(".//e:SignerInfo/e:Competence", namespaces=ns) == "TM. ỦY BAN NHÂN DÂN"
    assert root.findtext(".//e:TraceHeaderList/e:Bussiness/e:BussinessDocType", namespaces=ns) == "0"
    assert root.find("{http://www.w3.org/2000/09/xmldsig#}Signature") is not None


@pytest.mark.parametrize("business", list(edxml.BusinessType))
def test_every_business_type_round_trips(pki, trust, business):
    data = signed_bytes(pki, edxml.Package(header(business_type=business, business_reason="Sai số trang"),
                                           (edxml.Attachment("a.pdf", "application/pdf", PDF),)))
    package, _ = received(data, trust)
    assert (package.header.business_type, package.header.business_reason) == (business, "Sai số trang")


@pytest.mark.parametrize("before, after", [
    (b"Ph\xc3\xaa duy\xe1\xbb\x87t", b"H\xe1\xbb\xa7y b\xe1\xbb\x8f"),  # the subject
    (b"<edXML:CodeNumber>15<", b"<edXML:CodeNumber>16<"),
])
def test_a_changed_header_is_refused(package_bytes, trust, before, after):
    assert before in package_bytes
    with pytest.raises(xmlsig.SignatureRefused, match="changed after it was signed"):
        received(package_bytes.replace(before, after, 1), trust)


def test_a_changed_attachment_is_refused(package_bytes, trust):
    start = package_bytes.index(b"ContentTransferEncoded>") + len(b"ContentTransferEncoded>")
    flipped = b"B" if package_bytes[start + 20:start + 21] != b"B" else b"C"
    tampered = package_bytes[:start + 20] + flipped + package_bytes[start + 21:]
    with pytest.raises(xmlsig.SignatureRefused):
        received(tampered, trust)


def test_a_signer_outside_the_trust_store_is_refused(package_bytes, tmp_path, tmp_path_factory):
    stranger = init_pki(tmp_path_factory.mktemp("stranger"))
    shutil.copyfile(stranger.cert_path("root-ca"), tmp_path / "other-root.pem")
    with pytest.raises(xmlsig.UntrustedSigner, match="trusted root"):
        received(package_bytes, str(tmp_path))


def test_an_unsigned_message_is_refused(trust):
    data = edxml.to_bytes(edxml.message_tree(edxml.Package(header(), ())))
    with pytest.raises(xmlsig.SignatureRefused):
        received(data, trust)


@pytest.mark.parametrize("data, reason", [
    (b"<edXML", "not well-formed"),
    (b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'aaaa'>]><edXML xmlns='http://www.mic.gov.vn/TBT/QCVN_102_2016'>&a;</edXML>",
     "DTD"),
    (b"<!DOCTYPE x SYSTEM 'http://127.0.0.1:9/x.dtd'><x/>", "DTD"),
    (b"<html><body/></html>", "not an edXML message"),
    (b"\x00\x01\x02", "not well-formed"),
])
def test_hostile_or_malformed_bytes_are_refused_before_reading(data, reason):
    with pytest.raises(edxml.MalformedPackage, match=reason):
        edxml.parse_bytes(data, LIMIT)


def test_a_package_over_the_limit_is_refused_unparsed():
    with pytest.raises(edxml.PackageTooLarge):
        edxml.parse_bytes(b"<edXML>" + b" " * 2000 + b"</edXML>", 1000)


def test_a_signed_package_with_a_bad_field_says_which(pki, trust):
    bad = header(promulgation_date=date(2026, 11, 30))
    data = signed_bytes(pki, edxml.Package(bad, ()))
    data = data.replace(b"<edXML:PromulgationDate>2026/11/30<", b"<edXML:PromulgationDate>30-11-2026<")
    root = edxml.parse_bytes(data, LIMIT)  # read unverified, as `docsvc edxml show` does
    with pytest.raises(edxml.MalformedPackage, match="PromulgationDate must be a date written yyyy/mm/dd"):
        edxml.read(root, LIMIT)


def test_an_attachment_over_its_bound_is_refused(package_bytes, trust):
    verified = xmlsig.verify(edxml.parse_bytes(package_bytes, LIMIT * 2), trust)
    with pytest.raises(edxml.PackageTooLarge, match="attachment"):
        edxml.read(verified.signed, len(PDF) // 2)


def signed_status(pki, status) -> bytes:
    with Pkcs12Key(pki.p12_path("agency"), pki.passphrase) as key:
        return edxml.to_bytes(xmlsig.sign(edxml_status.message_tree(status), key))


@pytest.mark.parametrize("code", list(edxml_status.StatusCode))
def test_a_status_message_reads_back_the_same(pki, trust, code):
    status = edxml_status.Status(
        response_for=edxml_status.answering("000.00.00.H41,2026/11/30,15/QĐ-UBND"),
        sender=edxml.Organization("000.00.00.G22", "Văn phòng Chính phủ"), code=code,
        description="Đã vào sổ văn bản đến, số đến 125", timestamp=datetime(2026, 12, 1, 8, 30, 5),
        staff="Nguyễn Thị Lan", department="Văn thư")
    verified = xmlsig.verify(edxml.parse_bytes(signed_status(pki, status), LIMIT), trust)
    assert edxml_status.is_status(verified.signed)
    assert edxml_status.read(verified.signed) == status
    assert status.response_for.promulgation_date == date(2026, 11, 30)


def test_a_changed_status_is_refused_and_an_unknown_code_named(pki, trust):
    status = edxml_status.Status(edxml_status.answering("000.00.00.H41,2026/11/30,15/QĐ-UBND"),
                                 edxml.Organization("000.00.00.G22", "Văn phòng Chính phủ"),
                                 edxml_status.StatusCode.ARRIVED, "", datetime(2026, 12, 1, 8, 30, 5))
    data = signed_status(pki, status)
    with pytest.raises(xmlsig.SignatureRefused):
        xmlsig.verify(edxml.parse_bytes(data.replace(b">01<", b">06<"), LIMIT), trust)
    unsigned = etree.fromstring(edxml.to_bytes(edxml_status.message_tree(status)).replace(b">01<", b">99<"))
    with pytest.raises(edxml.MalformedPackage, match="StatusCode '99'"):
        edxml_status.read(unsigned)
    with pytest.raises(ValueError):
        edxml_status.answering("not a document id")
