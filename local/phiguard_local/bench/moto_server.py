"""moto's server for the bench (`python -m phiguard_local.bench.moto_server -H 127.0.0.1 -p PORT`), without its
model-instance tracking.

moto keeps every model object it ever makes for its /moto-api/data dashboard, and its DescribeSecurityGroupRules
copies every rule of the account on each call: the 10,000-resource sweep made the server grow past 10 GB. An
emulator artifact, not AWS behaviour; nothing here reads that dashboard, so the bench's server keeps none.
"""

from __future__ import annotations

from typing import Any

from moto.core.common_models import BaseModel
from moto.server import main


def _untracked(cls: type, *args: Any, **kwargs: Any) -> Any:
    return object.__new__(cls)


BaseModel.__new__ = staticmethod(_untracked)  # type: ignore[assignment, method-assign]

if __name__ == "__main__":
    main()
