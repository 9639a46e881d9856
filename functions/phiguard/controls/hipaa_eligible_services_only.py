"""hipaa-eligible-services-only: write API calls go only to HIPAA-eligible services (notify: who, what, where).

Under the AWS BAA an account may use any service, but PHI may be stored, processed or transmitted only by the
services on AWS's HIPAA Eligible Services Reference. The list ships as data (phiguard/data/
hipaa_eligible_services.json, keyed by CloudTrail eventSource) together with the identity and account services
that hold no PHI (IAM, STS, sign-in); a deployment allows more with the HipaaEligibleServicesExtra parameter
(PHIGUARD_HIPAA_ELIGIBLE_SERVICES). The resource judged is the service itself (PHIGuard::AWS::Service, whose id
is the eventSource): nothing is read from AWS, the call is the evidence, and the engine names who made it.

Scenarios:
- Given a write call to a service that is not HIPAA-eligible, Then a person is told who called what, where, and the
  steps.
- Given a write call to a HIPAA-eligible service, Then the control is not triggered (the service is compliant).
- Given a read-only call to a service that is not HIPAA-eligible, Then the control is not triggered.
- Given an event without readOnly, Then Describe/List/Get calls count as reads and the other calls as writes.
- Given a service the deployment allows with HipaaEligibleServicesExtra, Then compliant and nothing is notified.
- Given a write call made by an AWS service itself (no userIdentity ARN), Then that service is named as who.
- Given the sample event through the handler, Then it needs attention and one message is sent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from types import MappingProxyType

from phiguard.core.control import Control, register
from phiguard.core.model import ANY, Action, ApiCall, Evaluation, ResourceRef, Severity, Trigger, Violation

SERVICE_TYPE = "PHIGuard::AWS::Service"  # a pseudo resource type: one AWS service, its id the CloudTrail eventSource
REFERENCE = "https://aws.amazon.com/compliance/hipaa-eligible-services-reference/"
DATA_FILE = "hipaa_eligible_services.json"


@dataclass(frozen=True)
class ServiceList:
    """The shipped list, by CloudTrail eventSource: AWS's HIPAA-eligible services, and those that hold no PHI."""

    eligible: Mapping[str, str]
    holds_no_phi: Mapping[str, str]

    @property
    def allowed(self) -> frozenset[str]:
        return frozenset(self.eligible) | frozenset(self.holds_no_phi)

    def name(self, event_source: str) -> str | None:
        return self.eligible.get(event_source) or self.holds_no_phi.get(event_source)


@cache
def shipped() -> ServiceList:
    """The list in the package (importlib.resources: found wherever the package is, as `sam build` ships it)."""
    text = (files("phiguard") / "data" / DATA_FILE).read_text(encoding="utf-8")
    data = json.loads(text)
    return ServiceList(MappingProxyType(dict(data["eligible"])), MappingProxyType(dict(data["holds_no_phi"])))


def outside_the_list(call: ApiCall) -> bool:
    """The call goes to a service the shipped list does not allow (the deployment's additions are judged later)."""
    return call.event_source not in shipped().allowed


def the_service(call: ApiCall) -> list[ResourceRef]:
    return [call.ref(SERVICE_TYPE, call.event_source)]


def steps(ref: ResourceRef) -> tuple[str, ...]:
    source = ref.resource_id
    return (
        f"Find out what {source} is used for in account {ref.account_id}, region {ref.region}: the caller and the "
        "API call are named below (Changed by, When), and the CloudTrail event with that id has the request.",
        "If it stores, processes or transmits PHI, stop: move that work to a HIPAA-eligible service, remove the PHI "
        "from this one, and have the compliance owner assess whether PHI was disclosed.",
        f"If AWS has made the service HIPAA-eligible since this list was shipped ({REFERENCE}), or it holds no PHI "
        f"in this account, add {source} to the stack parameter HipaaEligibleServicesExtra (comma-separated) or to "
        f"phiguard/data/{DATA_FILE}, so its calls are no longer reported.",
    )


@register
class HipaaEligibleServicesOnly(Control):
    control_id = "hipaa-eligible-services-only"
    title = "Write API calls go only to HIPAA-eligible services"
    resource_type = SERVICE_TYPE
    hipaa = ("164.308(a)(1)(ii)(B)", "164.314(a)")
    action = Action.NOTIFY
    severity = Severity.HIGH  # PHI may be leaving the services a BAA covers
    permissions = ()  # judged from the call itself: nothing is read from AWS
    triggers = (Trigger(ANY, ANY, the_service, concerns=outside_the_list),)

    def evaluate(self, ref: ResourceRef) -> Evaluation:
        source, services = ref.resource_id, shipped()
        if source in services.eligible:
            allowed_as: str | None = "on AWS's HIPAA Eligible Services Reference"
        elif source in services.holds_no_phi:
            allowed_as = "an identity or account service that holds no PHI"
        elif source in self.settings.hipaa_eligible_services:
            allowed_as = "allowed by this deployment (HipaaEligibleServicesExtra)"
        else:
            allowed_as = None
        state = {"event_source": source, "service": services.name(source), "allowed_as": allowed_as}
        if allowed_as:
            return Evaluation.of(state, [])
        violation = Violation(
            summary=(
                f"a write API call went to {source}, which is not on the HIPAA-eligible list, "
                f"in account {ref.account_id}, region {ref.region}"
            ),
            fix=None,
            detail={"event_source": source, "account_id": ref.account_id, "region": ref.region},
            manual_steps=steps(ref),
        )
        return Evaluation.of(state, [violation])
