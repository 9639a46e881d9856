"""rds-storage-encrypted: DB instances and clusters encrypt their storage (notify: RDS cannot encrypt in place).

Scenarios:
- Given an unencrypted DB instance created, Then a person is given the exact steps: snapshot, encrypted copy
  of the snapshot with a KMS key, restore a new instance from the copy, switch the application's endpoint,
  retire the old instance after verifying.
- Given an unencrypted DB cluster created, Then the same steps at cluster level.
- Given encrypted storage, Then it is compliant.
- Given an instance that belongs to a cluster, Then it is not applicable: encryption is the cluster's and
  is judged on the cluster (CreateDBCluster).
- Given an instance or cluster deleted before the event is handled, Then it is not applicable.
"""

from __future__ import annotations

from phiguard.core import rds
from phiguard.core.control import Control, register
from phiguard.core.model import Action, Evaluation, ResourceRef, Severity, Trigger, Violation


def instance_steps(db_id: str) -> tuple[str, ...]:
    return (
        f"Take a snapshot: aws rds create-db-snapshot --db-instance-identifier {db_id} "
        f"--db-snapshot-identifier {db_id}-unencrypted",
        f"Copy the snapshot with a KMS key (the copy is encrypted): aws rds copy-db-snapshot "
        f"--source-db-snapshot-identifier {db_id}-unencrypted --target-db-snapshot-identifier {db_id}-encrypted "
        "--kms-key-id <your KMS key>",
        f"Restore a new instance from the encrypted copy, with the old one's class, subnet group, security groups "
        f"and parameter group: aws rds restore-db-instance-from-db-snapshot --db-snapshot-identifier "
        f"{db_id}-encrypted --db-instance-identifier <new instance id> ...",
        "Switch the application's endpoint to the new instance (stop writes to the old one first, or carry over "
        "the writes made since the snapshot).",
        "Retire the old instance only after verifying the new one (data, connections, backups): turn off its "
        "deletion protection and delete it with a final snapshot.",
    )


def cluster_steps(cluster_id: str) -> tuple[str, ...]:
    return (
        f"Take a snapshot: aws rds create-db-cluster-snapshot --db-cluster-identifier {cluster_id} "
        f"--db-cluster-snapshot-identifier {cluster_id}-unencrypted",
        f"Copy the snapshot with a KMS key (the copy is encrypted): aws rds copy-db-cluster-snapshot "
        f"--source-db-cluster-snapshot-identifier {cluster_id}-unencrypted "
        f"--target-db-cluster-snapshot-identifier {cluster_id}-encrypted --kms-key-id <your KMS key>",
        f"Restore a new cluster from the encrypted copy, with the old one's subnet group, security groups and "
        f"parameter groups: aws rds restore-db-cluster-from-snapshot --snapshot-identifier {cluster_id}-encrypted "
        "--db-cluster-identifier <new cluster id> --engine <engine> ..., then create its instances "
        "(aws rds create-db-instance --db-cluster-identifier <new cluster id> ...).",
        "Switch the application's endpoint to the new cluster (stop writes to the old one first, or carry over "
        "the writes made since the snapshot).",
        "Retire the old cluster only after verifying the new one (data, connections, backups): turn off its "
        "deletion protection and delete it with a final snapshot.",
    )


@register
class RdsStorageEncrypted(Control):
    control_id = "rds-storage-encrypted"
    title = "RDS storage is encrypted at rest"
    resource_type = rds.INSTANCE  # and AWS::RDS::DBCluster, from CreateDBCluster
    sweep_types = (rds.INSTANCE, rds.CLUSTER)
    hipaa = ("164.312(a)(2)(iv)", "164.312(e)(2)(ii)")
    action = Action.NOTIFY
    severity = Severity.HIGH
    permissions = ("rds:DescribeDBInstances", "rds:DescribeDBClusters")
    triggers = (
        Trigger("aws.rds", "CreateDBInstance", rds.db_instances),
        Trigger("aws.rds", "CreateDBCluster", rds.db_clusters),
    )

    def evaluate(self, ref: ResourceRef) -> Evaluation:
        if ref.resource_type == rds.CLUSTER:
            found = rds.cluster(self.context, ref.region, ref.resource_id)
            encrypted = bool(found.get("StorageEncrypted", False))
            steps = cluster_steps(ref.resource_id)
            what = "DB cluster"
        else:
            db = rds.instance(self.context, ref)
            member_of = db.get("DBClusterIdentifier")
            if member_of:
                return Evaluation.not_applicable(f"storage encryption belongs to cluster {member_of}, judged there")
            encrypted = bool(db.get("StorageEncrypted", False))
            steps = instance_steps(ref.resource_id)
            what = "DB instance"
        state = {"storage_encrypted": encrypted}
        if encrypted:
            return Evaluation.of(state, [])
        return Evaluation.of(
            state,
            [
                Violation(
                    summary=f"the {what}'s storage is not encrypted (RDS cannot encrypt it in place)",
                    fix=None,
                    manual_steps=steps,
                )
            ],
        )
