"""Scenarios of s3-bucket-ssl-requests-only, against moto state: the policy is merged, never rewritten."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from helpers import make_engine, ref
from phiguard.controls.s3_bucket_ssl_requests_only import S3BucketSslRequestsOnly, tls_only_statement
from phiguard.core.model import Outcome, Result

pytestmark = pytest.mark.usefixtures("aws")
BUCKET = "phi-data-123456789012"
ARN = f"arn:aws:s3:::{BUCKET}"


def run() -> Result:
    engine, _ = make_engine()
    return engine.run(S3BucketSslRequestsOnly(engine.context), ref("AWS::S3::Bucket", BUCKET), None)


def policy() -> dict[str, Any]:
    return dict(json.loads(boto3.client("s3").get_bucket_policy(Bucket=BUCKET)["Policy"]))


def test_given_no_policy_then_the_tls_only_statement_is_set() -> None:
    boto3.client("s3").create_bucket(Bucket=BUCKET)

    assert run().outcome is Outcome.REMEDIATED
    assert policy()["Statement"] == [tls_only_statement(BUCKET)]


def test_given_other_statements_without_sid_and_with_duplicate_sids_then_every_one_is_kept() -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    theirs = [
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [ARN, f"{ARN}/*"],
            "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-0a1b2c3d4e5f60001"}},
        },
        {
            "Sid": "Readers",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::123456789012:role/app"},
            "Action": "s3:GetObject",
            "Resource": f"{ARN}/*",
        },
        {
            "Sid": "Readers",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::123456789012:role/etl"},
            "Action": "s3:GetObject",
            "Resource": f"{ARN}/*",
        },
    ]
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps({"Version": "2012-10-17", "Statement": theirs}))

    result = run()

    assert result.outcome is Outcome.REMEDIATED
    assert policy()["Statement"] == [*theirs, tls_only_statement(BUCKET)]


def test_given_a_policy_that_already_denies_insecure_transport_then_compliant() -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    mine = {**tls_only_statement(BUCKET, "TheirOwnSid"), "Condition": {"Bool": {"aws:SecureTransport": False}}}
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps({"Version": "2012-10-17", "Statement": [mine]}))

    assert run().outcome is Outcome.COMPLIANT


def test_given_a_deny_on_the_objects_only_then_it_is_a_violation() -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    partial = {**tls_only_statement(BUCKET, "ObjectsOnly"), "Resource": f"{ARN}/*"}
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps({"Version": "2012-10-17", "Statement": [partial]}))

    assert run().outcome is Outcome.REMEDIATED
    assert [s["Sid"] for s in policy()["Statement"]] == ["ObjectsOnly", "PhiGuardDenyInsecureTransport"]


def test_given_a_bucket_deleted_before_the_event_is_handled_then_not_applicable() -> None:
    assert run().outcome is Outcome.NOT_APPLICABLE
