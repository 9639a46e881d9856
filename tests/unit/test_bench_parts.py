"""The bench's arithmetic and its Custodian policies, without running either tool."""

from __future__ import annotations

import yaml
from phiguard.core.control import get_control
from phiguard_local.bench import cold, run
from phiguard_local.bench.counting import SERVICES
from phiguard_local.bench.report import Row, p95, table


def test_advantage_is_custodian_over_phiguard_for_costs_and_the_inverse_for_throughput() -> None:
    assert Row("api_calls_per_event:x", 2, 13, "requests").advantage == 6.5
    assert Row("seconds_per_event:x_p95", 0.5, 0.25, "s").advantage == 0.5
    assert Row("sweep_resources_per_second:500", 300, 100, "resources/s").advantage == 3.0
    assert Row("package_megabytes", 20, None, "MiB").advantage is None
    assert Row("api_calls_per_event:bookkeeping", 0, 3, "requests").advantage is None  # JSON has no infinity


def test_p95_is_the_nearest_rank_and_the_table_shows_null_where_custodian_has_no_equivalent() -> None:
    assert p95([float(n) for n in range(1, 101)]) == 95.0
    assert p95([3.0]) == 3.0
    shown = table([Row("api_calls_per_event:alb-http-to-https-redirection-check", 13, None, "requests")])
    assert "| api_calls_per_event:alb-http-to-https-redirection-check | 13 | null | requests | null |" in shown


def test_the_import_time_of_the_module_itself_is_read_not_a_nested_one() -> None:
    report = (
        "import time: self [us] | cumulative | imported package\n"
        "import time:       120 |      45000 |   phiguard.handlers.remediate.helper\n"
        "import time:       536 |     272240 | phiguard.handlers.remediate\n"
    )
    assert cold._cumulative(report, "phiguard.handlers.remediate") == 0.27224


def test_one_custodian_policy_per_compared_control_each_on_the_drifts_cloudtrail_event() -> None:
    events = {
        "s3-default-encryption-kms": ("s3.amazonaws.com", "DeleteBucketEncryption"),
        "vpc-sg-restricted-ports": ("ec2.amazonaws.com", "AuthorizeSecurityGroupIngress"),
        "db-no-bastion-access": ("ec2.amazonaws.com", "AuthorizeSecurityGroupIngress"),
    }
    assert {c for c, policy in run.COMPARED.items() if policy} == set(events)
    assert set(run.COMPARED) == set(SERVICES)
    for control_id, (source, name) in events.items():
        [policy] = yaml.safe_load((run.POLICIES / str(run.COMPARED[control_id])).read_text())["policies"]
        [trigger] = policy["mode"]["events"]
        assert policy["mode"]["type"] == "cloudtrail"
        assert (trigger["source"], trigger["event"]) == (source, name)
        assert (source, name) in {(t.event_source, t.event_name) for t in get_control(control_id).triggers}
    assert sorted(p.name for p in run.POLICIES.glob("*.yml")) == sorted(str(p) for p in run.COMPARED.values() if p)
