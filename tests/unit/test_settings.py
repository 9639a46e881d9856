"""Settings fail fast and name the bad variable."""

from __future__ import annotations

import pytest
from phiguard.core.model import Mode
from phiguard.core.settings import Settings, SettingsError


def test_defaults_are_safe() -> None:
    settings = Settings.from_env({})

    assert settings.mode is Mode.DRY_RUN
    assert settings.authorized_public_ports == frozenset({80, 443})
    assert settings.self_role_arns == frozenset()


def test_values_are_parsed() -> None:
    settings = Settings.from_env(
        {
            "PHIGUARD_MODE": "enforce",
            "PHIGUARD_AUTHORIZED_PUBLIC_PORTS": "443, 8443",
            "PHIGUARD_BASTION_SG_IDS": "sg-0a1b2c3d4e5f60003",
            "PHIGUARD_SELF_ROLE_ARNS": "arn:aws:iam::123456789012:role/phiguard",
        }
    )

    assert settings.mode is Mode.ENFORCE
    assert settings.authorized_public_ports == frozenset({443, 8443})
    assert settings.bastion_sg_ids == frozenset({"sg-0a1b2c3d4e5f60003"})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PHIGUARD_MODE", "yolo"),
        ("PHIGUARD_AUTHORIZED_PUBLIC_PORTS", "80,https"),
        ("PHIGUARD_AUTHORIZED_PUBLIC_PORTS", "70000"),
        ("PHIGUARD_BASTION_SG_IDS", "bastion"),
        ("PHIGUARD_TOPIC_ARN", "my-topic"),
        ("PHIGUARD_SELF_ROLE_ARNS", "phiguard-role"),
    ],
)
def test_a_bad_value_names_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})
