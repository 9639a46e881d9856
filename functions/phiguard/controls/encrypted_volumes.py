"""encrypted-volumes: EBS volumes are encrypted (notify: a volume cannot be encrypted in place).

Scenarios:
- Given an unencrypted volume created, Then a person is given the steps to replace it with an encrypted copy.
- Given an instance launched with an unencrypted volume, Then the same, per unencrypted volume.
- Given encrypted volumes, Then compliant.
- Given a volume or instance deleted before the event is handled, Then not applicable.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from phiguard.core.control import Control, ResourceGone, register
from phiguard.core.events import volumes_and_instances
from phiguard.core.model import Action, Evaluation, ResourceRef, Severity, Trigger, Violation

STEPS = (
    "Stop what writes to the volume (or plan a maintenance window).",
    "Create a snapshot of the volume.",
    "Copy the snapshot with encryption on (CopySnapshot --encrypted, with your KMS key).",
    "Create a new volume from the encrypted copy in the same Availability Zone.",
    "Detach the old volume, attach the new one at the same device name, and start the workload again.",
    "Delete the unencrypted volume and snapshot once the new volume is verified.",
)


@register
class EncryptedVolumes(Control):
    control_id = "encrypted-volumes"
    title = "EBS volumes are encrypted"
    resource_type = "AWS::EC2::Volume"
    hipaa = ("164.312(a)(2)(iv)", "164.312(e)(2)(ii)")
    action = Action.NOTIFY
    severity = Severity.HIGH
    permissions = ("ec2:DescribeVolumes",)
    triggers = tuple(Trigger("aws.ec2", name, volumes_and_instances) for name in ("CreateVolume", "RunInstances"))

    def evaluate(self, ref: ResourceRef) -> Evaluation:
        ec2 = self.clients.ec2(ref.region)
        name = "attachment.instance-id" if ref.resource_type == "AWS::EC2::Instance" else "volume-id"
        try:
            volumes: list[Any] = ec2.describe_volumes(Filters=[{"Name": name, "Values": [ref.resource_id]}])["Volumes"]
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in ("InvalidVolume.NotFound", "InvalidInstanceID.NotFound"):
                raise ResourceGone(f"{ref.resource_id} does not exist") from e
            raise
        if not volumes:
            raise ResourceGone(f"no volume of {ref.resource_id} exists")
        state = {"volumes": [{"VolumeId": v["VolumeId"], "Encrypted": v.get("Encrypted", False)} for v in volumes]}
        return Evaluation.of(
            state,
            [
                Violation(
                    summary=f"volume {v['VolumeId']} is not encrypted",
                    fix=None,
                    detail={"volume_id": v["VolumeId"]},
                    manual_steps=STEPS,
                )
                for v in volumes
                if not v.get("Encrypted")
            ],
        )
