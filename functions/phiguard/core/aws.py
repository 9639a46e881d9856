"""The one boto3 client factory: lazy, cached per service and region, adaptive retries."""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_acm import ACMClient
    from mypy_boto3_cloudtrail import CloudTrailClient
    from mypy_boto3_config import ConfigServiceClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_elbv2 import ElasticLoadBalancingv2Client
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_kms import KMSClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_rds import RDSClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3control import S3ControlClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sts import STSClient

_CONFIG = Config(retries={"mode": "adaptive", "max_attempts": 6}, connect_timeout=5, read_timeout=20)


class Clients:
    """Creates clients on first use, so tests that start moto after import are still mocked."""

    def __init__(self, session: boto3.session.Session | None = None) -> None:
        self._session = session
        self._cache: dict[tuple[str, str | None], Any] = {}
        self._lock = threading.Lock()  # clients are thread-safe once made; making them is not (the sweep's threads)

    def _client(self, service: str, region: str | None) -> Any:
        key = (service, region)
        with self._lock:
            if key not in self._cache:
                session = self._session or boto3.session.Session()
                self._cache[key] = session.client(service, region_name=region, config=_CONFIG)  # type: ignore[call-overload]
            return self._cache[key]

    def ec2(self, region: str) -> EC2Client:
        return self._client("ec2", region)  # type: ignore[no-any-return]

    def s3(self, region: str) -> S3Client:
        return self._client("s3", region)  # type: ignore[no-any-return]

    def elbv2(self, region: str) -> ElasticLoadBalancingv2Client:
        return self._client("elbv2", region)  # type: ignore[no-any-return]

    def rds(self, region: str) -> RDSClient:
        return self._client("rds", region)  # type: ignore[no-any-return]

    def sns(self, region: str | None = None) -> SNSClient:
        return self._client("sns", region)  # type: ignore[no-any-return]

    def sqs(self, region: str | None = None) -> SQSClient:
        return self._client("sqs", region)  # type: ignore[no-any-return]

    def dynamodb(self, region: str | None = None) -> DynamoDBClient:
        return self._client("dynamodb", region)  # type: ignore[no-any-return]

    def kms(self, region: str) -> KMSClient:
        return self._client("kms", region)  # type: ignore[no-any-return]

    def acm(self, region: str) -> ACMClient:
        return self._client("acm", region)  # type: ignore[no-any-return]

    def iam(self) -> IAMClient:
        """IAM is global: one client, no region."""
        return self._client("iam", None)  # type: ignore[no-any-return]

    def cloudtrail(self, region: str) -> CloudTrailClient:
        return self._client("cloudtrail", region)  # type: ignore[no-any-return]

    def config(self, region: str) -> ConfigServiceClient:
        return self._client("config", region)  # type: ignore[no-any-return]

    def lambda_(self, region: str | None = None) -> LambdaClient:
        return self._client("lambda", region)  # type: ignore[no-any-return]

    def sts(self, region: str | None = None) -> STSClient:
        return self._client("sts", region)  # type: ignore[no-any-return]

    def s3control(self, region: str) -> S3ControlClient:
        client = self._client("s3control", region)
        if os.environ.get("AWS_ENDPOINT_URL") and not getattr(client, "_phiguard_emulator_hook", False):
            # botocore puts the account id in the host name (123456789012.s3-control...); an emulator on
            # one address cannot answer that, so send the request to the endpoint as given.
            client.meta.events.register("before-sign.s3-control.*", _strip_account_host)
            client._phiguard_emulator_hook = True
        return client  # type: ignore[no-any-return]


def _strip_account_host(request: Any, **_: Any) -> None:
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
    scheme, _, rest = request.url.partition("://")
    host, _, path = rest.partition("/")
    account, _, real_host = host.partition(".")
    if account.isdigit() and endpoint.split("://")[-1].startswith(real_host):
        request.url = f"{scheme}://{real_host}/{path}"
