"""Where RDS API calls name their instance, cluster or snapshot, and the reads and verdicts RDS controls share.

CloudTrail writes RDS parameters in camelCase with a lowercase first letter: dBInstanceIdentifier,
dBClusterIdentifier, dBSnapshotIdentifier, dBClusterSnapshotIdentifier (and targetDBInstanceIdentifier,
newDBInstanceIdentifier). Every read here turns RDS's not-found errors into ResourceGone.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from phiguard.core.control import Context, ResourceGone
from phiguard.core.model import ApiCall, Evaluation, ResourceRef, Violation

if TYPE_CHECKING:
    from mypy_boto3_rds.type_defs import DBClusterTypeDef, DBInstanceTypeDef

INSTANCE = "AWS::RDS::DBInstance"
CLUSTER = "AWS::RDS::DBCluster"
SNAPSHOT = "AWS::RDS::DBSnapshot"
CLUSTER_SNAPSHOT = "AWS::RDS::DBClusterSnapshot"

# The error codes (and the fault names some SDKs report) that mean "no such instance, cluster or snapshot".
GONE_CODES = frozenset(
    {
        "DBInstanceNotFound",
        "DBInstanceNotFoundFault",
        "DBClusterNotFoundFault",
        "DBSnapshotNotFound",
        "DBSnapshotNotFoundFault",
        "DBClusterSnapshotNotFoundFault",
    }
)
# Statuses in which RDS accepts a modification; in any other (creating, modifying, backing-up, stopped...)
# a fix is deferred: a later event or the sweep makes it once the resource is available.
MODIFIABLE = frozenset({"available", "storage-optimization"})


# Where each API call names its resource -------------------------------------------------------


def _ids(call: ApiCall, *keys: tuple[str, str]) -> list[str]:
    """Identifiers at (part, key), part being "request" or "response"; each once, in order."""
    found: list[str] = []
    for part, key in keys:
        value = (call.request if part == "request" else call.response).get(key)
        if isinstance(value, str) and value and value not in found:
            found.append(value)
    return found


def db_instances(call: ApiCall) -> list[ResourceRef]:
    """The instance created, modified, restored or replicated (never the source of a replica or restore)."""
    ids = _ids(
        call,
        ("request", "dBInstanceIdentifier"),
        ("request", "targetDBInstanceIdentifier"),  # RestoreDBInstanceToPointInTime
        ("response", "dBInstanceIdentifier"),
        ("request", "newDBInstanceIdentifier"),  # ModifyDBInstance renaming it
    )
    return [call.ref(INSTANCE, i) for i in ids]


def db_clusters(call: ApiCall) -> list[ResourceRef]:
    return [
        call.ref(CLUSTER, i)
        for i in _ids(call, ("request", "dBClusterIdentifier"), ("response", "dBClusterIdentifier"))
    ]


def db_snapshots(call: ApiCall) -> list[ResourceRef]:
    result = call.response.get("dBSnapshotAttributesResult")
    nested = result.get("dBSnapshotIdentifier") if isinstance(result, Mapping) else None
    ids = _ids(call, ("request", "dBSnapshotIdentifier"), ("response", "dBSnapshotIdentifier"))
    if isinstance(nested, str) and nested and nested not in ids:
        ids.append(nested)
    return [call.ref(SNAPSHOT, i) for i in ids]


def db_cluster_snapshots(call: ApiCall) -> list[ResourceRef]:
    result = call.response.get("dBClusterSnapshotAttributesResult")
    nested = result.get("dBClusterSnapshotIdentifier") if isinstance(result, Mapping) else None
    ids = _ids(call, ("request", "dBClusterSnapshotIdentifier"), ("response", "dBClusterSnapshotIdentifier"))
    if isinstance(nested, str) and nested and nested not in ids:
        ids.append(nested)
    return [call.ref(CLUSTER_SNAPSHOT, i) for i in ids]


# Reads ----------------------------------------------------------------------------------------


@contextmanager
def gone_if_missing(what: str) -> Iterator[None]:
    """Turn RDS's not-found errors inside the block into ResourceGone."""
    try:
        yield
    except ClientError as e:
        if e.response.get("Error", {}).get("Code") in GONE_CODES:
            raise ResourceGone(f"{what} does not exist") from e
        raise


def instance(context: Context, ref: ResourceRef) -> DBInstanceTypeDef:
    """The live instance; ResourceGone when it does not exist or is being deleted."""
    with gone_if_missing(f"DB instance {ref.resource_id}"):
        found = context.clients.rds(ref.region).describe_db_instances(DBInstanceIdentifier=ref.resource_id)
    if not found["DBInstances"]:
        raise ResourceGone(f"DB instance {ref.resource_id} does not exist")
    db = found["DBInstances"][0]
    if db.get("DBInstanceStatus") in ("deleting", "deleted"):
        raise ResourceGone(f"DB instance {ref.resource_id} is being deleted")
    return db


def cluster(context: Context, region: str, cluster_id: str) -> DBClusterTypeDef:
    """The live cluster; ResourceGone when it does not exist or is being deleted."""
    with gone_if_missing(f"DB cluster {cluster_id}"):
        found = context.clients.rds(region).describe_db_clusters(DBClusterIdentifier=cluster_id)
    if not found["DBClusters"]:
        raise ResourceGone(f"DB cluster {cluster_id} does not exist")
    db = found["DBClusters"][0]
    if db.get("Status") in ("deleting", "deleted"):
        raise ResourceGone(f"DB cluster {cluster_id} is being deleted")
    return db


def is_aurora(db: DBInstanceTypeDef) -> bool:
    return str(db.get("Engine", "")).startswith("aurora")


def status_of(db: DBInstanceTypeDef) -> str:
    return str(db.get("DBInstanceStatus", "unknown"))


def restore_shares(context: Context, ref: ResourceRef) -> list[str]:
    """Who may restore a manual snapshot (ref is a DBSnapshot or DBClusterSnapshot): account ids or "all"."""
    client = context.clients.rds(ref.region)
    attributes: list[Any]
    if ref.resource_type == CLUSTER_SNAPSHOT:
        with gone_if_missing(f"DB cluster snapshot {ref.resource_id}"):
            result = client.describe_db_cluster_snapshot_attributes(DBClusterSnapshotIdentifier=ref.resource_id)
        attributes = list(result["DBClusterSnapshotAttributesResult"].get("DBClusterSnapshotAttributes", []))
    else:
        with gone_if_missing(f"DB snapshot {ref.resource_id}"):
            found = client.describe_db_snapshot_attributes(DBSnapshotIdentifier=ref.resource_id)
        attributes = list(found["DBSnapshotAttributesResult"].get("DBSnapshotAttributes", []))
    return sorted(v for a in attributes if a.get("AttributeName") == "restore" for v in a.get("AttributeValues", []))


def deferred(problem: str, what: str, status: str) -> Violation:
    """A fixable problem on a resource that cannot be modified now: reported, not claimed as fixed."""
    return Violation(
        summary=f"{problem}; the fix is deferred until the {what} is available (it is {status})",
        fix=None,
        detail={"deferred": True, "status": status},
        manual_steps=(
            f"Nothing is changed while the {what} is {status}: RDS accepts modifications once it is available. "
            "PHI Guard fixes it on a later event or the sweep; to fix it sooner, make the change by hand once "
            "it is available.",
        ),
    )


def public_snapshot_verdict(shares: list[str]) -> Evaluation:
    """The verdict on a DB or cluster snapshot's restore attribute: public when it holds "all"."""
    state = {"restore_shared_with": shares}
    if "all" not in shares:
        return Evaluation.of(state, [])
    others = [s for s in shares if s != "all"]
    keep = f"; the {len(others)} account(s) it is shared with stay" if others else ""
    return Evaluation.of(
        state,
        [
            Violation(
                summary="the snapshot is public: every AWS account may copy or restore it",
                fix=f'remove "all" from the restore attribute{keep}',
                detail={"other_accounts": others},
            )
        ],
    )
