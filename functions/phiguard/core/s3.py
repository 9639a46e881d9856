"""Bucket reads shared by the S3 controls: every one turns NoSuchBucket into ResourceGone."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from botocore.exceptions import ClientError

from phiguard.core.control import ResourceGone
from phiguard.core.model import ResourceRef

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
