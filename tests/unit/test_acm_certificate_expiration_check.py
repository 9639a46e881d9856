"""Scenarios of acm-certificate-expiration-check, against moto state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from helpers import ACCOUNT, REGION, make_engine, ref
from moto.acm.models import acm_backends
from phiguard.controls import acm_certificate_expiration_check as expiration
from phiguard.controls.acm_certificate_expiration_check import AcmCertificateExpirationCheck
from phiguard.core.model import Outcome, Result

pytestmark = pytest.mark.usefixtures("aws")
CERT_TYPE = "AWS::ACM::Certificate"
LB = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:loadbalancer/app/web-alb/50dc6c495c0c9188"


def imported(days_left: float, *, in_use: bool = True) -> str:
    """An imported certificate that expires days_left days from now (negative: already expired)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "web.example.com")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=400))
        .not_valid_after(now + timedelta(days=days_left))
        .sign(key, hashes.SHA256())
    )
    arn: str = boto3.client("acm").import_certificate(
        Certificate=certificate.public_bytes(serialization.Encoding.PEM),
        PrivateKey=key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
    )["CertificateArn"]
    if in_use:  # moto records use only for classic load balancers: say so as ELBv2 would
        acm_backends[ACCOUNT][REGION].set_certificate_in_use_by(arn, LB)
    return arn


def run(arn: str, **settings: Any) -> Result:
    engine, _ = make_engine(**settings)
    return engine.run(AcmCertificateExpirationCheck(engine.context), ref(CERT_TYPE, arn), None)


def test_given_a_certificate_in_use_expiring_within_the_window_then_a_person_is_told_the_steps() -> None:
    result = run(imported(10))

    assert result.outcome is Outcome.NEEDS_ATTENTION
    assert "expires in 9 day(s)" in result.remaining[0].summary  # 10 days less the seconds since the import
    assert result.remaining[0].detail["in_use_by"] == [LB]
    assert any("re-import" in step for step in result.remaining[0].manual_steps)


def test_given_a_certificate_in_use_that_has_expired_then_a_person_is_told(monkeypatch: pytest.MonkeyPatch) -> None:
    arn = imported(3)  # ACM refuses to import an expired certificate: let time pass instead

    class Later(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Later:
            return cls.fromtimestamp((datetime.now(UTC) + timedelta(days=5)).timestamp(), tz)

    monkeypatch.setattr(expiration, "datetime", Later)
    result = run(arn)

    assert result.outcome is Outcome.NEEDS_ATTENTION
    assert "has expired" in result.remaining[0].summary


def test_given_a_certificate_in_use_expiring_after_the_window_then_compliant() -> None:
    assert run(imported(45)).outcome is Outcome.COMPLIANT


def test_given_a_longer_configured_window_then_the_same_certificate_is_reported() -> None:
    assert run(imported(45), certificate_expiry_days=60).outcome is Outcome.NEEDS_ATTENTION


def test_given_a_certificate_not_in_use_then_not_applicable() -> None:
    assert run(imported(5, in_use=False)).outcome is Outcome.NOT_APPLICABLE


def test_given_a_certificate_deleted_before_it_is_evaluated_then_not_applicable() -> None:
    arn = imported(5, in_use=False)
    boto3.client("acm").delete_certificate(CertificateArn=arn)

    assert run(arn).outcome is Outcome.NOT_APPLICABLE


def test_the_control_has_no_cloudtrail_triggers() -> None:
    assert AcmCertificateExpirationCheck.triggers == ()
