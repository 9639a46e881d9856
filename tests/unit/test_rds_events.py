"""RDS CloudTrail events in, resource references out: the instance, cluster or snapshot the call changed,
never the source of a replica or restore; and which controls each call reaches."""

from __future__ import annotations

from typing import Any

import pytest
from phiguard.controls import (
    db_instance_backup_enabled,  # noqa: F401 - importing a control registers it
    rds_cluster_snapshots_public_prohibited,  # noqa: F401
    rds_instance_deletion_protection_enabled,  # noqa: F401
    rds_instance_public_access_check,  # noqa: F401
    rds_multi_az_support,  # noqa: F401
    rds_snapshots_public_prohibited,  # noqa: F401
    rds_storage_encrypted,  # noqa: F401
)
from phiguard.core.control import triggered_by
from phiguard.core.events import api_call_from_event
from phiguard.core.model import ApiCall, ResourceRef
from phiguard.core.rds import db_cluster_snapshots, db_clusters, db_instances, db_snapshots

ACCOUNT, REGION = "123456789012", "us-east-1"
RDS_INSTANCE_CONTROLS = {
    "rds-instance-public-access-check",
    "rds-storage-encrypted",
    "rds-multi-az-support",
    "db-instance-backup-enabled",
    "rds-instance-deletion-protection-enabled",
}


def rds_call(event_name: str, request: dict[str, Any], response: dict[str, Any] | None) -> ApiCall:
    """An EventBridge "AWS API Call via CloudTrail" event for RDS, as delivered, read the way the handler reads it."""
    return api_call_from_event(
        {
            "version": "0",
            "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
            "detail-type": "AWS API Call via CloudTrail",
            "source": "aws.rds",
            "account": ACCOUNT,
            "time": "2026-03-02T10:15:00Z",
            "region": REGION,
            "resources": [],
            "detail": {
                "eventVersion": "1.09",
                "userIdentity": {
                    "type": "AssumedRole",
                    "principalId": "AROAEXAMPLEROLEID:jane.doe@example.com",
                    "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/Admin/jane.doe@example.com",
                    "accountId": ACCOUNT,
                    "sessionContext": {
                        "sessionIssuer": {
                            "type": "Role",
                            "principalId": "AROAEXAMPLEROLEID",
                            "arn": f"arn:aws:iam::{ACCOUNT}:role/Admin",
                            "accountId": ACCOUNT,
                            "userName": "Admin",
                        },
                        "attributes": {"creationDate": "2026-03-02T09:58:11Z", "mfaAuthenticated": "true"},
                    },
                },
                "eventTime": "2026-03-02T10:15:00Z",
                "eventSource": "rds.amazonaws.com",
                "eventName": event_name,
                "awsRegion": REGION,
                "sourceIPAddress": "203.0.113.10",
                "userAgent": "aws-cli/2.15.0",
                "requestParameters": request,
                "responseElements": response,
                "requestID": "3b6a1c52-4bd8-4c1e-9d7e-4d5f2c1a9b10",
                "eventID": "e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b",
                "readOnly": False,
                "eventType": "AwsApiCall",
                "managementEvent": True,
                "recipientAccountId": ACCOUNT,
                "eventCategory": "Management",
            },
        }
    )


def instance_response(db_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "dBInstanceIdentifier": db_id,
        "dBInstanceClass": "db.t3.micro",
        "engine": "postgres",
        "dBInstanceStatus": "creating",
        "dBInstanceArn": f"arn:aws:rds:{REGION}:{ACCOUNT}:db:{db_id}",
        "publiclyAccessible": True,
        "storageEncrypted": False,
        **extra,
    }


def refs(resource_type: str, *ids: str) -> list[ResourceRef]:
    return [ResourceRef(resource_type, i, REGION, ACCOUNT) for i in ids]


def test_create_db_instance_names_the_new_instance_once() -> None:
    call = rds_call(
        "CreateDBInstance",
        {
            "dBInstanceIdentifier": "phi-db",
            "allocatedStorage": 20,
            "dBInstanceClass": "db.t3.micro",
            "engine": "postgres",
            "masterUsername": "phiadmin",
            "masterUserPassword": "HIDDEN_DUE_TO_SECURITY_REASONS",
            "publiclyAccessible": True,
        },
        instance_response("phi-db"),
    )

    assert db_instances(call) == refs("AWS::RDS::DBInstance", "phi-db")


def test_a_read_replica_names_the_replica_not_its_source() -> None:
    call = rds_call(
        "CreateDBInstanceReadReplica",
        {"dBInstanceIdentifier": "phi-db-replica", "sourceDBInstanceIdentifier": "phi-db"},
        instance_response("phi-db-replica", readReplicaSourceDBInstanceIdentifier="phi-db"),
    )

    assert db_instances(call) == refs("AWS::RDS::DBInstance", "phi-db-replica")


def test_a_point_in_time_restore_names_the_target_not_the_source() -> None:
    call = rds_call(
        "RestoreDBInstanceToPointInTime",
        {
            "sourceDBInstanceIdentifier": "phi-db",
            "targetDBInstanceIdentifier": "phi-db-restored",
            "useLatestRestorableTime": True,
        },
        instance_response("phi-db-restored"),
    )

    assert db_instances(call) == refs("AWS::RDS::DBInstance", "phi-db-restored")


def test_a_restore_from_a_snapshot_names_the_new_instance() -> None:
    call = rds_call(
        "RestoreDBInstanceFromDBSnapshot",
        {"dBInstanceIdentifier": "phi-db-restored", "dBSnapshotIdentifier": "phi-db-2026-03-01"},
        instance_response("phi-db-restored"),
    )

    assert db_instances(call) == refs("AWS::RDS::DBInstance", "phi-db-restored")


def test_a_rename_names_both_the_old_and_the_new_identifier() -> None:
    call = rds_call(
        "ModifyDBInstance",
        {"dBInstanceIdentifier": "phi-db", "newDBInstanceIdentifier": "phi-db-2", "applyImmediately": True},
        instance_response("phi-db", dBInstanceStatus="available"),
    )

    assert db_instances(call) == refs("AWS::RDS::DBInstance", "phi-db", "phi-db-2")


def test_the_response_alone_is_enough_and_an_empty_call_names_nothing() -> None:
    assert db_instances(rds_call("CreateDBInstance", {}, instance_response("phi-db"))) == refs(
        "AWS::RDS::DBInstance", "phi-db"
    )
    assert db_instances(rds_call("ModifyDBInstance", {}, None)) == []
    assert db_clusters(rds_call("CreateDBCluster", {"dBClusterIdentifier": ""}, None)) == []


def test_create_db_cluster_names_the_cluster() -> None:
    call = rds_call(
        "CreateDBCluster",
        {"dBClusterIdentifier": "phi-aurora", "engine": "aurora-postgresql", "storageEncrypted": False},
        {"dBClusterIdentifier": "phi-aurora", "status": "creating", "engine": "aurora-postgresql"},
    )

    assert db_clusters(call) == refs("AWS::RDS::DBCluster", "phi-aurora")


@pytest.mark.parametrize(
    "response",
    [
        {"dBSnapshotIdentifier": "phi-db-2026-03-01", "dBSnapshotAttributes": []},
        {"dBSnapshotAttributesResult": {"dBSnapshotIdentifier": "phi-db-2026-03-01"}},
        None,
    ],
)
def test_a_snapshot_shared_names_the_snapshot(response: dict[str, Any] | None) -> None:
    call = rds_call(
        "ModifyDBSnapshotAttribute",
        {"dBSnapshotIdentifier": "phi-db-2026-03-01", "attributeName": "restore", "valuesToAdd": ["all"]},
        response,
    )

    assert db_snapshots(call) == refs("AWS::RDS::DBSnapshot", "phi-db-2026-03-01")


def test_a_cluster_snapshot_shared_names_the_cluster_snapshot() -> None:
    call = rds_call(
        "ModifyDBClusterSnapshotAttribute",
        {"dBClusterSnapshotIdentifier": "phi-aurora-2026-03-01", "attributeName": "restore", "valuesToAdd": ["all"]},
        {"dBClusterSnapshotAttributesResult": {"dBClusterSnapshotIdentifier": "phi-aurora-2026-03-01"}},
    )

    assert db_cluster_snapshots(call) == refs("AWS::RDS::DBClusterSnapshot", "phi-aurora-2026-03-01")


@pytest.mark.parametrize(
    ("event_name", "expected"),
    [
        ("CreateDBInstance", RDS_INSTANCE_CONTROLS),
        ("ModifyDBInstance", RDS_INSTANCE_CONTROLS - {"rds-storage-encrypted"}),
        ("CreateDBInstanceReadReplica", {"rds-instance-public-access-check"}),
        ("RestoreDBInstanceFromDBSnapshot", {"rds-instance-public-access-check"}),
        ("RestoreDBInstanceToPointInTime", {"rds-instance-public-access-check"}),
        ("RestoreDBInstanceFromS3", {"rds-instance-public-access-check"}),
        ("CreateDBCluster", {"rds-storage-encrypted"}),
        ("ModifyDBSnapshotAttribute", {"rds-snapshots-public-prohibited"}),
        ("ModifyDBClusterSnapshotAttribute", {"rds-cluster-snapshots-public-prohibited"}),
    ],
)
def test_each_rds_call_reaches_the_controls_that_care(event_name: str, expected: set[str]) -> None:
    controls = {control.control_id for control, _ in triggered_by(rds_call(event_name, {}, None))}

    assert controls == expected


def test_create_db_cluster_reaches_rds_storage_encrypted_with_a_cluster_reference() -> None:
    call = rds_call("CreateDBCluster", {"dBClusterIdentifier": "phi-aurora"}, None)

    [(control, trigger)] = triggered_by(call)

    assert control.control_id == "rds-storage-encrypted"
    assert trigger.resources(call) == refs("AWS::RDS::DBCluster", "phi-aurora")
