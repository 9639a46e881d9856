"""Where KMS API calls name their key, and the key facts the KMS controls share."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from phiguard.core.control import Context, ResourceGone
from phiguard.core.events import _mapping
from phiguard.core.model import ApiCall, ResourceRef

KEY = "AWS::KMS::Key"


def keys(call: ApiCall) -> list[ResourceRef]:
    """keyId in the request (an id, an ARN or an alias), or keyMetadata.keyId in CreateKey's response."""
    found = call.request.get("keyId") or _mapping(call.response.get("keyMetadata")).get("keyId")
    return [call.ref(KEY, found)] if isinstance(found, str) and found else []


def describe(context: Context, ref: ResourceRef) -> dict[str, Any]:
    client = context.clients.kms(ref.region)
    try:
        return dict(client.describe_key(KeyId=ref.resource_id)["KeyMetadata"])
    except ClientError as e:
        if e.response.get("Error", {}).get("Code") in ("NotFoundException", "InvalidArnException"):
            raise ResourceGone(f"KMS key {ref.resource_id} does not exist") from e
        raise


def state_of(metadata: dict[str, Any]) -> dict[str, Any]:
    keep = (
        "KeyId",
        "Arn",
        "KeyManager",
        "KeyState",
        "KeySpec",
        "KeyUsage",
        "Origin",
        "CustomKeyStoreId",
        "DeletionDate",
        "Enabled",
    )
    return {k: str(metadata[k]) if k == "DeletionDate" else metadata[k] for k in keep if k in metadata}
