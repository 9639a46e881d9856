"""The one boto3 client factory: lazy, cached per service and region, adaptive retries."""

from __future__ import annotations

import copy
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
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

# PHI Guard's own records and messages: never served from shared reads, and writing them keeps those reads.
_BOOKKEEPING = frozenset({"dynamodb", "sns", "sqs", "lambda", "sts"})
_READS = ("Describe", "Get", "List")
_SHARED: ContextVar[dict[str, tuple[Any, Any]] | None] = ContextVar("phiguard_shared_reads", default=None)


@contextmanager
def shared_reads() -> Iterator[None]:
    """While one event is handled, the controls it concerns share their reads: a read made again with the
    same parameters is answered with the first answer (five controls judge one security group's rules from
    one DescribeSecurityGroupRules). Any write to a resource service (a fix, a failed fix included) drops
    every shared read first, so the verifying read and every later one are live again."""
    token = _SHARED.set({})
    try:
        yield
    finally:
        _SHARED.reset(token)


def _shared_answer(model: Any, params: dict[str, Any], context: dict[str, Any], **_: Any) -> tuple[Any, Any] | None:
    reads = _SHARED.get()
    if reads is None:
        return None
    if not model.name.startswith(_READS):
        reads.clear()
        return None
    if model.has_streaming_output:
        return None
    context["phiguard_read_key"] = key = repr((model.name, params.get("method"), params.get("url"), params.get("body")))
    hit = reads.get(key)
    return (hit[0], copy.deepcopy(hit[1])) if hit else None


def _remember_answer(http_response: Any, parsed: Any, model: Any, context: dict[str, Any], **_: Any) -> None:
    reads = _SHARED.get()
    key = context.get("phiguard_read_key")
    if reads is not None and key and http_response.status_code < 300:
        reads[key] = (http_response, copy.deepcopy(parsed))


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
                client = session.client(service, region_name=region, config=_CONFIG)  # type: ignore[call-overload]
                if service not in _BOOKKEEPING:
                    client.meta.events.register("before-call", _shared_answer)
                    client.meta.events.register("after-call", _remember_answer)
                self._cache[key] = client
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
