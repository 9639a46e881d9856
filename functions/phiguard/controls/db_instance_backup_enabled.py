"""db-instance-backup-enabled: automated backups are kept for at least 7 days.

Scenarios:
- Given an available instance keeping backups fewer than 7 days (or none), Then retention is set to 7 days
  at once (ModifyDBInstance BackupRetentionPeriod=7, ApplyImmediately).
- Given 7 days or more (or 7 already pending), Then it is compliant; PHI Guard never shortens retention.
- Given an Aurora (or other cluster) member, Then retention is the cluster's: the cluster is modified
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

DAYS = 7


@register
class DbInstanceBackupEnabled(Control):
    control_id = "db-instance-backup-enabled"
    title = "RDS automated backups are kept for at least 7 days"
    resource_type = rds.INSTANCE
    hipaa = ("164.308(a)(7)(i)", "164.308(a)(7)(ii)(A)", "164.308(a)(7)(ii)(B)")
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
        source: Any = rds.cluster(self.context, ref.region, cluster_id) if cluster_id else db
        status = str(source.get("Status", "unknown")) if cluster_id else rds.status_of(db)
        days = int(source.get("BackupRetentionPeriod", 0))
        pending = (source.get("PendingModifiedValues") or {}).get("BackupRetentionPeriod")
        state: dict[str, Any] = {"backup_retention_period": days}
        if cluster_id:
            state = {"cluster": cluster_id, **state}
        if pending is not None:
            state["pending_backup_retention_period"] = pending
        if days >= DAYS or (pending is not None and pending >= DAYS):
            return Evaluation.of(state, [])
        owner = f"cluster {cluster_id}" if cluster_id else "instance"
        problem = (
            "automated backups are off (retention 0 days)"
            if days == 0
            else f"automated backups are kept {days} day(s), fewer than {DAYS}"
        )
        if status not in rds.MODIFIABLE:
            what = "cluster" if cluster_id else "instance"
            return Evaluation.of({**state, "status": status}, [rds.deferred(problem, what, status)])
        return Evaluation.of(
            state,
            [
                Violation(
                    summary=problem, fix=f"set the {owner}'s backup retention to {DAYS} days (applied immediately)"
                )
            ],
        )

    def remediate(self, ref: ResourceRef, evaluation: Evaluation) -> list[str]:
        return [self._set(ref, evaluation.state.get("cluster"), DAYS)]

    def revert(self, ref: ResourceRef, fixed: Result) -> list[str]:
        days = fixed.state_before.get("backup_retention_period")
        if not isinstance(days, int) or days >= DAYS:
            raise NotRevertible("no shorter retention was recorded before the fix")
        if days == 0:
            raise NotRevertible("retention 0 turns automated backups off and deletes them: do that by hand if needed")
        return [self._set(ref, fixed.state_before.get("cluster"), days) + " (as before the fix)"]

    def _set(self, ref: ResourceRef, cluster_id: Any, days: int) -> str:
        client = self.clients.rds(ref.region)
        if cluster_id:
            client.modify_db_cluster(
                DBClusterIdentifier=str(cluster_id), BackupRetentionPeriod=days, ApplyImmediately=True
            )
            return f"set backup retention of cluster {cluster_id} to {days} days (applied immediately)"
        client.modify_db_instance(
            DBInstanceIdentifier=ref.resource_id, BackupRetentionPeriod=days, ApplyImmediately=True
        )
        return f"set backup retention to {days} days (applied immediately)"
