"""rds-snapshots-public-prohibited: manual DB snapshots are not shared with every AWS account.

Scenarios:
- Given a snapshot shared with "all", Then "all" is removed from its restore attribute and nothing else.
- Given a snapshot shared with "all" and with named accounts, Then only "all" is removed: the accounts stay.
- Given a snapshot shared with named accounts only, or not at all, Then it is compliant and left alone.
- Given a snapshot deleted before the event is handled, Then it is not applicable.
Cluster snapshots are judged by rds-cluster-snapshots-public-prohibited.
"""

from __future__ import annotations

from phiguard.core import rds
from phiguard.core.control import Control, NotRevertible, register
from phiguard.core.model import Action, Evaluation, ResourceRef, Result, Severity, Trigger


@register
class RdsSnapshotsPublicProhibited(Control):
    control_id = "rds-snapshots-public-prohibited"
    title = "RDS DB snapshots are not public"
    resource_type = rds.SNAPSHOT
    hipaa = ("164.312(a)(1)", "164.312(e)(1)")
    action = Action.FIX
    severity = Severity.CRITICAL
    permissions = ("rds:DescribeDBSnapshotAttributes", "rds:ModifyDBSnapshotAttribute")
    triggers = (Trigger("aws.rds", "ModifyDBSnapshotAttribute", rds.db_snapshots),)

    def evaluate(self, ref: ResourceRef) -> Evaluation:
        return rds.public_snapshot_verdict(rds.restore_shares(self.context, ref))

    def remediate(self, ref: ResourceRef, evaluation: Evaluation) -> list[str]:
        self.clients.rds(ref.region).modify_db_snapshot_attribute(
            DBSnapshotIdentifier=ref.resource_id, AttributeName="restore", ValuesToRemove=["all"]
        )
        return [v.fix for v in evaluation.fixable if v.fix]

    def revert(self, ref: ResourceRef, fixed: Result) -> list[str]:
        if "all" not in fixed.state_before.get("restore_shared_with", []):
            raise NotRevertible("the snapshot was not public before the fix")
        self.clients.rds(ref.region).modify_db_snapshot_attribute(
            DBSnapshotIdentifier=ref.resource_id, AttributeName="restore", ValuesToAdd=["all"]
        )
        return ['added "all" to the restore attribute again (public, as before the fix)']
