"""acm-certificate-expiration-check: ACM certificates in use expire in more than the configured number of days.

Runs on a schedule (expiry is the passing of time, not an API call): no CloudTrail triggers.

Scenarios:
- Given a certificate in use that expires within the window, Then a person is told the steps to renew it.
- Given a certificate in use that has already expired, Then the same.
- Given a certificate in use that expires after the window, Then compliant.
- Given a certificate not in use, or without an expiry date yet (pending validation), Then not applicable.
- Given a certificate deleted before it is evaluated, Then not applicable.
"""

from __future__ import annotations

from datetime import UTC, datetime

from phiguard.core.control import Control, ResourceGone, register
from phiguard.core.model import Action, Evaluation, JsonDict, ResourceRef, Violation

STEPS = (
    "For an ACM-issued certificate: complete or repair its validation (the DNS CNAME record must still exist) "
    "so ACM renews it, or request a new certificate for the same names.",
    "For an imported certificate: obtain a renewed certificate from its issuer and re-import it over the same "
    "ARN (ImportCertificate with CertificateArn), so every listener using it picks it up.",
    "If a new ARN is used instead, replace the certificate on every resource listed in InUseBy before it expires.",
)


@register
class AcmCertificateExpirationCheck(Control):
    control_id = "acm-certificate-expiration-check"
    title = "ACM certificates in use do not expire soon"
    resource_type = "AWS::ACM::Certificate"
    hipaa = ("164.312(e)(1)",)
    action = Action.NOTIFY
    permissions = ("acm:DescribeCertificate",)
    triggers = ()
    schedule_only = True

    def evaluate(self, ref: ResourceRef) -> Evaluation:
        client = self.clients.acm(ref.region)
        try:
            certificate = client.describe_certificate(CertificateArn=ref.resource_id)["Certificate"]
        except client.exceptions.ResourceNotFoundException as e:
            raise ResourceGone(f"certificate {ref.resource_id} does not exist") from e
        in_use = list(certificate.get("InUseBy", []))
        not_after = certificate.get("NotAfter")
        if not in_use:
            return Evaluation.not_applicable("the certificate is not in use")
        if not_after is None:
            return Evaluation.not_applicable(f"the certificate has no expiry date yet ({certificate.get('Status')})")
        days_left = (not_after - datetime.now(UTC)).total_seconds() / 86400
        state: JsonDict = {
            "domain_name": certificate.get("DomainName"),
            "type": certificate.get("Type"),
            "status": certificate.get("Status"),
            "not_after": not_after.isoformat(),
            "days_left": int(days_left),
            "in_use_by": in_use,
            "expiry_days": self.settings.certificate_expiry_days,
        }
        if days_left > self.settings.certificate_expiry_days:
            return Evaluation.of(state, [])
        when = "has expired" if days_left <= 0 else f"expires in {int(days_left)} day(s)"
        return Evaluation.of(
            state,
            [
                Violation(
                    summary=f"certificate for {certificate.get('DomainName')} {when} ({not_after:%Y-%m-%d}), "
                    f"in use by {len(in_use)} resource(s)",
                    fix=None,
                    detail={"not_after": not_after.isoformat(), "in_use_by": in_use},
                    manual_steps=STEPS,
                )
            ],
        )
