"""rds-cluster-snapshots-public-prohibited: manual DB cluster snapshots are not shared with every AWS account.

Scenarios:
- Given a cluster snapshot shared with "all" and with named accounts, Then only "all" is removed from its
  restore attribute: the accounts stay.
- Given a cluster snapshot shared with named accounts only, or not at all, Then it is compliant.
- Given a cluster snapshot deleted before the event is handled, Then it is not applicable.
"""

from __future__ import annotations

from phiguard.core import rds
from phiguard.core.control import Control, NotRevertible, register
from phiguard.core.model import Action, Evaluation, ResourceRef, Result, Severity, Trigger


@register
class RdsClusterSnapshotsPublicProhibited(Control):
    control_id = "rds-cluster-snapshots-public-prohibited"
    title = "RDS DB cluster snapshots are not public"
    resource_type = rds.CLUSTER_SNAPSHOT
    hipaa = ("164.312(a)(1)", "164.312(e)(1)")
    action = Action.FIX
    severity = Severity.CRITICAL
    permissions = ("rds:DescribeDBClusterSnapshotAttributes", "rds:ModifyDBClusterSnapshotAttribute")
    triggers = (Trigger("aws.rds", "ModifyDBClusterSnapshotAttribute", rds.db_cluster_snapshots),)

    def evaluate(self, ref: ResourceRef) -> Evaluation:
        return rds.public_snapshot_verdict(rds.restore_shares(self.context, ref))

    def remediate(self, ref: ResourceRef, evaluation: Evaluation) -> list[str]:
        self.clients.rds(ref.region).modify_db_cluster_snapshot_attribute(
            DBClusterSnapshotIdentifier=ref.resource_id, AttributeName="restore", ValuesToRemove=["all"]
        )
        return [v.fix for v in evaluation.fixable if v.fix]

    def revert(self, ref: ResourceRef, fixed: Result) -> list[str]:
        if "all" not in fixed.state_before.get("restore_shared_with", []):
            raise NotRevertible("the cluster snapshot was not public before the fix")
        self.clients.rds(ref.region).modify_db_cluster_snapshot_attribute(
            DBClusterSnapshotIdentifier=ref.resource_id, AttributeName="restore", ValuesToAdd=["all"]
        )
        return ['added "all" to the restore attribute again (public, as before the fix)']
