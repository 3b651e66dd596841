"""What a signer or verifier trusts, and where it gets time and revocation.

One object for both sides, because the two must agree: a document signed at
B-LT against one set of roots is verified against the same roots later.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from asn1crypto import crl as asn1_crl
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import x509
from pyhanko.keys import load_certs_from_pemder
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.sign.validation.policy_decl import (
    LocalKnowledge,
    PdfSignatureValidationSpec,
    RevinfoOnlineFetchingRule,
    RevocationInfoGatheringSpec,
    SignatureValidationSpec,
)
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.policy_decl import (
    CertRevTrustPolicy,
    RevocationCheckingPolicy,
    RevocationCheckingRule,
)
from pyhanko_certvalidator.registry import SimpleTrustManager
from pyhanko_certvalidator.revinfo.archival import CRLContainer, OCSPContainer

from .fetching import FetchSession
from .outbound import FetchPolicy
from .tsa import TsaClient

# Revocation is checked wherever a certificate says where to check it
# (AIA OCSP / CRL distribution point); a certificate that declares a source
# which cannot be reached is a failure, not a silent pass.
REVOCATION_REQUIRED = CertRevTrustPolicy(
    RevocationCheckingPolicy(
        ee_certificate_rule=RevocationCheckingRule.CHECK_IF_DECLARED,
        intermediate_ca_cert_rule=RevocationCheckingRule.CHECK_IF_DECLARED,
    )
)
# Used only to tell "untrusted" apart from "trusted, but revocation unknown".
REVOCATION_IGNORED = CertRevTrustPolicy(
    RevocationCheckingPolicy(
        ee_certificate_rule=RevocationCheckingRule.NO_CHECK,
        intermediate_ca_cert_rule=RevocationCheckingRule.NO_CHECK,
    )
)


@dataclass(frozen=True, eq=False)
class TrustConfig:
    """Trust anchors plus the network services signing and verifying may use.

    `trust_roots` is the complete list of anchors: the operating system's
    store is never consulted, so a verdict does not depend on the machine.
    `allow_fetching` lets verification fetch OCSP/CRL online when the
    document does not embed them (B-B, B-T); B-LT/B-LTA documents are
    verified from what they embed. What may be fetched, from where and for
    how long is `fetch_policy`'s, and only for certificates that chain to
    `trust_roots` (signing/fetching.py). `http_timeout` is the TSA's: the
    administrator configured it, no file names it.
    """

    trust_roots: tuple[x509.Certificate, ...]
    extra_certs: tuple[x509.Certificate, ...] = ()
    tsa_url: str | None = None
    timestamper: TimeStamper | None = field(default=None, repr=False)
    allow_fetching: bool = True
    http_timeout: float = 10.0
    fetch_policy: FetchPolicy = FetchPolicy()

    @classmethod
    def from_pem_files(
        cls,
        roots: Iterable[str | Path],
        *,
        extra_certs: Iterable[str | Path] = (),
        tsa_url: str | None = None,
        allow_fetching: bool = True,
        fetch_policy: FetchPolicy = FetchPolicy(),
    ) -> TrustConfig:
        return cls(
            trust_roots=tuple(load_certs_from_pemder([str(p) for p in roots])),
            extra_certs=tuple(load_certs_from_pemder([str(p) for p in extra_certs])),
            tsa_url=tsa_url,
            allow_fetching=allow_fetching,
            fetch_policy=fetch_policy,
        )

    def get_timestamper(self) -> TimeStamper | None:
        """The in-process timestamper if one was given, else the TSA over HTTP."""
        if self.timestamper is not None:
            return self.timestamper
        if self.tsa_url:
            return TsaClient(self.tsa_url, timeout=int(self.http_timeout))
        return None

    def fetch_session(self) -> FetchSession | None:
        """What one verification may fetch (one time budget for all of it);
        None when this configuration fetches nothing."""
        return self._new_session() if self.allow_fetching else None

    def _new_session(self) -> FetchSession:
        return FetchSession(self.fetch_policy, lambda held: self.validation_context(
            allow_fetching=False, check_revocation=False, other_certs=held))

    def validation_context(
        self,
        *,
        allow_fetching: bool | None = None,
        check_revocation: bool = True,
        other_certs: Sequence[x509.Certificate] = (),
        ocsps: Sequence[asn1_ocsp.OCSPResponse] = (),
        crls: Sequence[asn1_crl.CertificateList] = (),
        moment: datetime | None = None,
        session: FetchSession | None = None,
    ) -> ValidationContext:
        """A context for validating now (or at `moment`, never fetching).
        A fetching context fetches through `session` (a new one if none is
        given): a verification passes its own, so that its passes share one
        time budget."""
        fetching = (self.allow_fetching if allow_fetching is None else allow_fetching) and moment is None
        if fetching:
            session = session or self._new_session()
            session.know(other_certs)
        context = ValidationContext(
            trust_roots=list(self.trust_roots),
            other_certs=[*self.extra_certs, *other_certs],
            allow_fetching=fetching,
            fetcher_backend=session if fetching else None,
            # Lists, never None: certvalidator refuses a context with
            # mandatory revocation, no fetching and "no data at all".
            ocsps=list(ocsps),
            crls=list(crls),
            revinfo_policy=REVOCATION_REQUIRED if check_revocation else REVOCATION_IGNORED,
            moment=moment,
        )
        if fetching and session is not None:
            session.watch(context.certificate_registry)
        return context

    def long_term_validation_spec(
        self,
        session: FetchSession | None,
        *,
        other_certs: Sequence[x509.Certificate] = (),
        ocsps: Sequence[asn1_ocsp.OCSPResponse] = (),
        crls: Sequence[asn1_crl.CertificateList] = (),
    ) -> PdfSignatureValidationSpec:
        """The same settings for pyHanko's AdES validation of B-LT and B-LTA
        signatures (`ades_with_time_validation`, `ades_lta_validation`),
        which builds its own contexts: one at the present time, one at each
        proof of existence. Only the present one
        may fetch, through `session`; the past ones use what the document
        embeds (its DSS, which pyHanko reads itself, plus `ocsps`/`crls`)."""
        if session is not None:
            gathering = RevocationInfoGatheringSpec(
                online_fetching_rule=RevinfoOnlineFetchingRule.NO_HISTORICAL_FETCH, fetcher_backend=session)
        else:
            gathering = RevocationInfoGatheringSpec(online_fetching_rule=RevinfoOnlineFetchingRule.LOCAL_ONLY)
        policy = CertValidationPolicySpec(
            trust_manager=SimpleTrustManager.build(trust_roots=list(self.trust_roots)),
            revinfo_policy=REVOCATION_REQUIRED,
        )
        knowledge = LocalKnowledge(
            known_certs=[*self.extra_certs, *other_certs],
            known_ocsps=[container for response in ocsps for container in OCSPContainer.load_multi(response)],
            known_crls=[CRLContainer(crl) for crl in crls],
        )
        return PdfSignatureValidationSpec(SignatureValidationSpec(
            cert_validation_policy=policy, revinfo_gathering_policy=gathering, local_knowledge=knowledge))
