"""rds-instance-deletion-protection-enabled: DB instances cannot be deleted until protection is turned off.

Scenarios:
- Given an available instance without deletion protection, Then it is turned on at once
  (ModifyDBInstance DeletionProtection=True, ApplyImmediately).
- Given deletion protection on, Then it is compliant and left alone.
- Given an Aurora (or other cluster) member, Then protection is the cluster's: the cluster is modified
  (ModifyDBCluster), the finding stays on the instance and the change names the cluster.
- Given an instance (or its cluster) still being created, modified, backed up..., Then nothing is changed:
  the fix is deferred until it is available.
- Given an instance deleted before the event is handled, Then it is not applicable.
"""

from __future__ import annotations

from typing import Any

from phiguard.core import rds
from phiguard.core.control import Control, NotRevertible, register
from phiguard.core.model import Action, Evaluation, ResourceRef, Result, Trigger, Violation


@register
class RdsInstanceDeletionProtectionEnabled(Control):
    control_id = "rds-instance-deletion-protection-enabled"
    title = "RDS deletion protection is on"
    resource_type = rds.INSTANCE
    hipaa = ("164.308(a)(7)(i)", "164.308(a)(7)(ii)(C)")
    action = Action.FIX
    permissions = (
        "rds:DescribeDBInstances",
        "rds:DescribeDBClusters",
        "rds:ModifyDBInstance",
        "rds:ModifyDBCluster",
    )
    triggers = tuple(Trigger("aws.rds", name, rds.db_instances) for name in ("CreateDBInstance", "ModifyDBInstance"))

    def evaluate(self, ref: ResourceRef) -> Evaluation:
        db = rds.instance(self.context, ref)
        cluster_id = db.get("DBClusterIdentifier")
        if cluster_id:
            found = rds.cluster(self.context, ref.region, cluster_id)
            protected, status = bool(found.get("DeletionProtection", False)), str(found.get("Status", "unknown"))
        else:
            protected, status = bool(db.get("DeletionProtection", False)), rds.status_of(db)
        state: dict[str, Any] = {"deletion_protection": protected}
        if cluster_id:
            state = {"cluster": cluster_id, **state}
        if protected:
            return Evaluation.of(state, [])
        owner = f"cluster {cluster_id}" if cluster_id else "instance"
        problem = f"deletion protection is off on the {owner}"
        if status not in rds.MODIFIABLE:
            what = "cluster" if cluster_id else "instance"
            return Evaluation.of({**state, "status": status}, [rds.deferred(problem, what, status)])
        return Evaluation.of(state, [Violation(summary=problem, fix=f"turn deletion protection on for the {owner}")])

    def remediate(self, ref: ResourceRef, evaluation: Evaluation) -> list[str]:
        return [self._set(ref, evaluation.state.get("cluster"), True)]

    def revert(self, ref: ResourceRef, fixed: Result) -> list[str]:
        if fixed.state_before.get("deletion_protection") is not False:
            raise NotRevertible("deletion protection was not off before the fix")
        return [self._set(ref, fixed.state_before.get("cluster"), False) + " (as before the fix)"]

    def _set(self, ref: ResourceRef, cluster_id: Any, on: bool) -> str:
        client = self.clients.rds(ref.region)
        word = "on" if on else "off"
        if cluster_id:
            client.modify_db_cluster(DBClusterIdentifier=str(cluster_id), DeletionProtection=on, ApplyImmediately=True)
            return f"turned deletion protection {word} for cluster {cluster_id}"
        client.modify_db_instance(DBInstanceIdentifier=ref.resource_id, DeletionProtection=on, ApplyImmediately=True)
        return f"turned deletion protection {word}"
