"""The README's controls table is generated from the registry and must not be stale."""

from __future__ import annotations

from phiguard.core.control import all_controls
from phiguard_local.controls_table import README, table, with_table


def test_the_readme_controls_table_is_current() -> None:
    readme = README.read_text()

    assert with_table(readme) == readme, "README.md's controls table is stale: run `make docs`"


def test_the_table_lists_every_control_once() -> None:
    rows = [line for line in table().splitlines()[2:]]

    assert len(rows) == len(all_controls())
    for control in all_controls():
        assert sum(f"`{control.control_id}`" in row for row in rows) == 1
