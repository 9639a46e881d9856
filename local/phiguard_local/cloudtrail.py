"""CloudTrail API-call events in the documented EventBridge shape, built from real API calls."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from phiguard_local.embedded import ACCOUNT_ID, REGION

DETAIL_TYPE = "AWS API Call via CloudTrail"
PERSON_ARN = f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/Admin/jane.doe@example.com"
PERSON_ROLE = f"arn:aws:iam::{ACCOUNT_ID}:role/Admin"


def detail(
    service: str,
    event_name: str,
    request: dict[str, Any] | None,
    response: dict[str, Any] | None,
    *,
    actor_arn: str = PERSON_ARN,
    issuer_arn: str = PERSON_ROLE,
    region: str = REGION,
    error_code: str | None = None,
) -> dict[str, Any]:
    """The `detail` of an EventBridge CloudTrail event: what CloudTrail recorded for one API call."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    body: dict[str, Any] = {
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "AssumedRole",
            "principalId": "AROAEXAMPLEID:jane.doe@example.com",
            "arn": actor_arn,
            "accountId": ACCOUNT_ID,
            "accessKeyId": "ASIAEXAMPLEKEY",
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": "AROAEXAMPLEID",
                    "arn": issuer_arn,
                    "accountId": ACCOUNT_ID,
                    "userName": issuer_arn.rsplit("/", 1)[-1],
                },
                "attributes": {"creationDate": now, "mfaAuthenticated": "true"},
            },
        },
        "eventTime": now,
        "eventSource": f"{service}.amazonaws.com",
        "eventName": event_name,
        "awsRegion": region,
        "sourceIPAddress": "198.51.100.23",
        "userAgent": "aws-cli/2.17.0 Python/3.12.6 Linux/6.1 exe/x86_64",
        "requestParameters": request,
        "responseElements": response,
        "requestID": str(uuid.uuid4()),
        "eventID": str(uuid.uuid4()),
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": ACCOUNT_ID,
        "eventCategory": "Management",
    }
    if error_code:
        body["errorCode"] = error_code
        body["errorMessage"] = "You are not authorized to perform this operation."
    return body


def envelope(source: str, detail_body: dict[str, Any]) -> dict[str, Any]:
    """The whole EventBridge event, as Lambda receives it."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": DETAIL_TYPE,
        "source": source,
        "account": ACCOUNT_ID,
        "time": detail_body["eventTime"],
        "region": detail_body["awsRegion"],
        "resources": [],
        "detail": detail_body,
    }
