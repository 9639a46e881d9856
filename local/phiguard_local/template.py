"""Read template.yaml (with CloudFormation's short-form tags) and its EventBridge rule patterns."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that keeps !Ref, !GetAtt, !Sub... as {"Ref": ...} / {"Fn::X": ...}."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {"Ref": value} if suffix == "Ref" else {f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _tag)


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    with path.open() as f:
        return dict(yaml.load(f, Loader=_CfnLoader))


def event_rules(template: dict[str, Any], function: str = "RemediationFunction") -> dict[str, dict[str, Any]]:
    """EventBridgeRule events of one function: {event name: pattern}."""
    events = template["Resources"][function]["Properties"].get("Events", {})
    return {name: e["Properties"]["Pattern"] for name, e in events.items() if e["Type"] == "EventBridgeRule"}
