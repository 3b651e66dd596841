"""PAdES signing and verification (a library with no web code).

    from signing import Pkcs12Key, sign_pdf, verify_pdf, PersonSignature, Box

    with Pkcs12Key("official.p12", passphrase) as key:
        sign_pdf(src, dst, key, level="B-LT", trust=trust,
                 appearance=PersonSignature(png, Box(page=0, x=340, y=120, width=150, height=60)))
    report = verify_pdf(open("signed.pdf", "rb"), trust)   # report.verdict, report.to_json()

Modules: keys (where keys live), csc (keys at a remote CSC API v2 signing service), appearance (Decree 30 layouts), sign,
batch (what the signatures of a batch share), verify, archive (renewing B-LTA archive time-stamps), trust (roots,
TSA, revocation), tsa (the TSA over HTTP), errors (user errors with a code), pki + devservices (a development
CA with TSA/OCSP/CRL on 127.0.0.1).

Importing this package makes asn1crypto's DER encoding of built structures
linear instead of exponential (same bytes; see _asn1_dump), and pyHanko's
reading of hex strings and asn1crypto's name comparisons fast (same
results; see _parse_fast), and work pyHanko repeats within one verification
done once (same results; see _verify_memo).
"""
from . import _asn1_dump, _parse_fast, _verify_memo

_asn1_dump.install()
_parse_fast.install()
_verify_memo.install()

from .appearance import AgencySeal, Appearance, AttachmentStamp, Box, CopyStamp, PersonSignature
from .archive import ArchiveStatus, archive_status, needs_renewal, renew_archive_timestamp
from .batch import SigningBatch
from .csc import CscKey
from .errors import SigningError
from .keys import KeySource, Pkcs11Key, Pkcs12Key
from .reasons import Reason, ReasonCode
from .sign import LEVELS, Level, SignedDocument, SignedPdf, SignJob, sign_pdf, sign_pdfs
from .trust import TrustConfig
from .verify import Revocation, SignatureReport, VerificationReport, verify_pdf

__all__ = [
    "AgencySeal", "Appearance", "AttachmentStamp", "Box", "CopyStamp", "PersonSignature",
    "SigningError", "KeySource", "Pkcs11Key", "Pkcs12Key", "CscKey",
    "LEVELS", "Level", "SignedDocument", "SignedPdf", "SignJob", "SigningBatch", "sign_pdf", "sign_pdfs", "TrustConfig",
    "Reason", "ReasonCode", "Revocation", "SignatureReport", "VerificationReport", "verify_pdf",
    "ArchiveStatus", "archive_status", "needs_renewal", "renew_archive_timestamp",
]
