"""Bucket reads shared by the S3 controls: every one turns NoSuchBucket into ResourceGone."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from botocore.exceptions import ClientError

from phiguard.core.control import ResourceGone
from phiguard.core.model import Evaluation, ResourceRef, Violation

T = TypeVar("T")


def read(ref: ResourceRef, call: Callable[[], T], *, absent: tuple[str, ...] = (), default: Any = None) -> T:
    """Call a bucket read; an `absent` error code (the setting was never made) gives `default`."""
    try:
        return call()
    except ClientError as e:
        code = e.response.get("Error", {}).get("Code")
        if code == "NoSuchBucket":
            raise ResourceGone(f"bucket {ref.resource_id} does not exist") from e
        if code in absent:
            return default  # type: ignore[no-any-return]
        raise


PUBLIC_ACCESS_FLAGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


def public_access_evaluation(state_key: str, config: dict[str, Any] | None, scope: str) -> Evaluation:
    """Bucket- and account-level Block Public Access are judged alike: all four flags must be true."""
    off = [flag for flag in PUBLIC_ACCESS_FLAGS if not (config or {}).get(flag)]
    violations = (
        [
            Violation(
                summary=f"{scope} Block Public Access is off for: {', '.join(off)}",
                fix=f"set all four {scope} Block Public Access flags to true",
            )
        ]
        if off
        else []
    )
    return Evaluation.of({state_key: config}, violations)
