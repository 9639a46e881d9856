"""Start moto in server mode on a free loopback port and point every boto3 client at it.

Fake credentials and an empty AWS config are forced, so nothing here can reach a real account,
even on a machine that has credentials.
"""

from __future__ import annotations

import logging
import os
import socket
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

ACCOUNT_ID = "123456789012"  # moto's default account
REGION = "us-east-1"

_FORCED = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}
_REMOVED = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def fake_aws_environment(endpoint_url: str | None) -> Iterator[None]:
    """Fake credentials (and the endpoint, when given) for the duration; the old environment comes back."""
    saved = {k: os.environ.get(k) for k in (*_FORCED, *_REMOVED, "AWS_ENDPOINT_URL")}
    try:
        for key in _REMOVED:
            os.environ.pop(key, None)
        os.environ.update(_FORCED)
        if endpoint_url:
            os.environ["AWS_ENDPOINT_URL"] = endpoint_url
        else:
            os.environ.pop("AWS_ENDPOINT_URL", None)
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextmanager
def embedded_aws() -> Iterator[str]:
    """A moto server on 127.0.0.1 for the duration; yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    _reset(endpoint)  # moto keeps its state per process: every embedded AWS starts empty
    try:
        with fake_aws_environment(endpoint):
            yield endpoint
    finally:
        _reset(endpoint)
        server.stop()


def _reset(endpoint: str) -> None:
    request = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()
