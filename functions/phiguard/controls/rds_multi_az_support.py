"""rds-multi-az-support: DB instances are Multi-AZ (contingency plan: a standby in another zone).

Enabling Multi-AZ costs money and fails over briefly, so the fix is scheduled for the instance's next
maintenance window (ApplyImmediately=False), and it can be turned into a notification by the settings.

Scenarios:
- Given a single-AZ instance that is available, Then Multi-AZ is enabled, scheduled for the next maintenance
  window (never applied immediately), and the finding says so.
- Given a Multi-AZ instance, or one with Multi-AZ already scheduled, Then it is compliant and left alone.
- Given the Multi-AZ fix turned off in the settings, Then a person is given the steps instead.
- Given a single-AZ instance still being created (or modified, backed up, stopped...), Then nothing is
  changed: the fix is deferred until the instance is available.
- Given an Aurora instance (or any cluster member), Then it is not applicable: the cluster spans zones.
- Given an instance deleted before the event is handled, Then it is not applicable.
"""

from __future__ import annotations

from phiguard.core import rds
from phiguard.core.control import Control, NotRevertible, register
from phiguard.core.model import Action, Evaluation, ResourceRef, Result, Severity, Trigger, Violation

PROBLEM = "the DB instance is single-AZ (no standby in another Availability Zone)"
FIX = "enable Multi-AZ, scheduled for the next maintenance window (not applied immediately)"


@register
class RdsMultiAzSupport(Control):
    control_id = "rds-multi-az-support"
    title = "RDS DB instances are Multi-AZ"
    resource_type = rds.INSTANCE
    hipaa = ("164.308(a)(7)(i)", "164.308(a)(7)(ii)(C)")
    action = Action.FIX
    severity = Severity.LOW
    permissions = ("rds:DescribeDBInstances", "rds:ModifyDBInstance")
    triggers = tuple(Trigger("aws.rds", name, rds.db_instances) for name in ("CreateDBInstance", "ModifyDBInstance"))

    def evaluate(self, ref: ResourceRef) -> Evaluation:
        db = rds.instance(self.context, ref)
        if rds.is_aurora(db):
            return Evaluation.not_applicable("an Aurora instance: its cluster spans Availability Zones")
        if db.get("DBClusterIdentifier"):
            return Evaluation.not_applicable(f"a member of cluster {db.get('DBClusterIdentifier')}, which spans zones")
        multi_az = bool(db.get("MultiAZ", False))
        pending = db.get("PendingModifiedValues", {}).get("MultiAZ")
        state: dict[str, object] = {"multi_az": multi_az}
        if pending is not None:
            state["pending_multi_az"] = pending
        if multi_az or pending is True:
            return Evaluation.of(state, [])
        if not self.settings.rds_multi_az_fix:
            return Evaluation.of(state, [self._notify(ref)])
        status = rds.status_of(db)
        if status not in rds.MODIFIABLE:
            return Evaluation.of({**state, "status": status}, [rds.deferred(PROBLEM, "instance", status)])
        return Evaluation.of(state, [Violation(summary=PROBLEM, fix=FIX, detail={"scheduled": True})])

    def _notify(self, ref: ResourceRef) -> Violation:
        return Violation(
            summary=PROBLEM,
            fix=None,
            detail={"scheduled": False},
            manual_steps=(
                "PHI Guard's Multi-AZ fix is turned off in this deployment (it adds a standby's cost and a brief "
                "failover), so a person decides.",
                f"To enable it in the next maintenance window: aws rds modify-db-instance --db-instance-identifier "
                f"{ref.resource_id} --multi-az --no-apply-immediately",
                "Or record why this instance needs no standby with an exemption (tags or the exemption list).",
            ),
        )

    def remediate(self, ref: ResourceRef, evaluation: Evaluation) -> list[str]:
        self.clients.rds(ref.region).modify_db_instance(
            DBInstanceIdentifier=ref.resource_id, MultiAZ=True, ApplyImmediately=False
        )
        return ["scheduled Multi-AZ on for the next maintenance window (not applied immediately)"]

    def revert(self, ref: ResourceRef, fixed: Result) -> list[str]:
        if fixed.state_before.get("multi_az") is not False:
            raise NotRevertible("the instance was not single-AZ before the fix")
        self.clients.rds(ref.region).modify_db_instance(
            DBInstanceIdentifier=ref.resource_id, MultiAZ=False, ApplyImmediately=False
        )
        return ["scheduled Multi-AZ off for the next maintenance window (as before the fix)"]
