"""rds-instance-public-access-check: DB instances are not publicly accessible.

Scenarios:
- Given a publicly accessible instance that is available, Then PubliclyAccessible is turned off at once
  (ModifyDBInstance with that flag only, ApplyImmediately).
- Given an instance that is not publicly accessible, Then it is compliant and left alone.
- Given a publicly accessible instance still being created (or modified, backed up, stopped...), Then
  nothing is changed and success is not claimed: the fix is deferred until the instance is available
  (needs attention; a later event or the sweep fixes it).
- Given an instance deleted before the event is handled, Then it is not applicable.
"""

from __future__ import annotations

from phiguard.core import rds
from phiguard.core.control import Control, NotRevertible, register
from phiguard.core.model import Action, Evaluation, ResourceRef, Result, Severity, Trigger, Violation

PROBLEM = "the DB instance is publicly accessible"


@register
class RdsInstancePublicAccessCheck(Control):
    control_id = "rds-instance-public-access-check"
    title = "RDS DB instances are not publicly accessible"
    resource_type = rds.INSTANCE
    hipaa = ("164.308(a)(3)(i)", "164.312(a)(1)", "164.312(e)(1)")
    action = Action.FIX
    severity = Severity.CRITICAL
    permissions = ("rds:DescribeDBInstances", "rds:ModifyDBInstance")
    triggers = tuple(
        Trigger("aws.rds", name, rds.db_instances)
        for name in (
            "CreateDBInstance",
            "ModifyDBInstance",
            "CreateDBInstanceReadReplica",
            "RestoreDBInstanceFromDBSnapshot",
            "RestoreDBInstanceToPointInTime",
            "RestoreDBInstanceFromS3",
        )
    )

    def evaluate(self, ref: ResourceRef) -> Evaluation:
        db = rds.instance(self.context, ref)
        public = bool(db.get("PubliclyAccessible", False))
        state: dict[str, object] = {"publicly_accessible": public}
        if not public:
            return Evaluation.of(state, [])
        status = rds.status_of(db)
        if status not in rds.MODIFIABLE:
            return Evaluation.of({**state, "status": status}, [rds.deferred(PROBLEM, "instance", status)])
        return Evaluation.of(
            state, [Violation(summary=PROBLEM, fix="turn PubliclyAccessible off (applied immediately)")]
        )

    def remediate(self, ref: ResourceRef, evaluation: Evaluation) -> list[str]:
        self.clients.rds(ref.region).modify_db_instance(
            DBInstanceIdentifier=ref.resource_id, PubliclyAccessible=False, ApplyImmediately=True
        )
        return ["turned PubliclyAccessible off (applied immediately)"]

    def revert(self, ref: ResourceRef, fixed: Result) -> list[str]:
        if fixed.state_before.get("publicly_accessible") is not True:
            raise NotRevertible("the instance was not publicly accessible before the fix")
        self.clients.rds(ref.region).modify_db_instance(
            DBInstanceIdentifier=ref.resource_id, PubliclyAccessible=True, ApplyImmediately=True
        )
        return ["turned PubliclyAccessible on again (as before the fix)"]
