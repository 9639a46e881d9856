"""Slack: a Block Kit message from the body a Lambda subscriber of the topic receives, and the one POST.

render() is pure. It reads the SNS message as the topic carries it for Lambda: the full result JSON, an
alert about PHI Guard itself ({"kind": "alert", ...}), the summary of a de-duplication window
({"kind": "digest", ...}), a CloudWatch alarm (the failure-queue alarm
publishes to the same topic), or anything else. A body it cannot read becomes a plain-text message,
never an error: nothing is dropped for being unexpected. Every text is cut to Slack's limits on a line
boundary, with a note saying so.

post() sends it: https only (http on a loopback address only when a local run allows it), no redirects,
no proxy for loopback. A non-2xx answer, a timeout or a broken connection raises SlackDeliveryError so
Lambda's retries and the failure destination keep the message. The webhook URL is a secret: it is never
logged and never part of an error message.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import re
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit
from urllib.request import HTTPRedirectHandler, ProxyHandler, Request, build_opener

from aws_lambda_powertools import Logger

from phiguard.core.model import JsonDict, Outcome, Result
from phiguard.notify.console import console_url
from phiguard.notify.digest import Digest
from phiguard.notify.render import in_short, short_name

logger = Logger()

# Slack's limits (Block Kit reference): text of a section 3000, of a field 2000, a header 150,
# at most 10 fields in a section and 50 blocks in a message.
SECTION_LIMIT = 3000
FIELD_LIMIT = 2000
HEADER_LIMIT = 150
FIELDS_PER_SECTION = 10
BLOCK_LIMIT = 50
TEXT_LIMIT = 3000  # the `text` fallback (notifications, screen readers, plain-text messages)
SHORTENED = "\n… (shortened)"

_OUTCOMES = {
    Outcome.REMEDIATED: (":white_check_mark:", "Fixed", "PHI Guard fixed a HIPAA baseline drift."),
    Outcome.WOULD_REMEDIATE: (
        ":large_yellow_circle:",
        "Would fix (dry-run)",
        "PHI Guard found a HIPAA baseline drift (dry-run mode: nothing was changed).",
    ),
    Outcome.NEEDS_ATTENTION: (
        ":warning:",
        "Action needed",
        "PHI Guard found a HIPAA baseline drift that needs a person.",
    ),
    Outcome.FAILED: (":x:", "FAILED to fix", "PHI Guard could not fix a HIPAA baseline drift. Action needed."),
    Outcome.EXEMPT: (":white_circle:", "Exempt", "A HIPAA baseline drift on an exempt resource was left alone."),
    Outcome.HELD: (
        ":octagonal_sign:",
        "Held by the brake",
        "PHI Guard held a fix: the blast-radius brake is engaged (notify-only for now).",
    ),
    Outcome.REVERTED: (":leftwards_arrow_with_hook:", "Reverted", "A person reverted a fix PHI Guard had made."),
    Outcome.COMPLIANT: (":large_green_circle:", "Compliant", "PHI Guard found the resource compliant."),
    Outcome.NOT_APPLICABLE: (":heavy_minus_sign:", "Not applicable", "PHI Guard found the control not applicable."),
}
_SEVERITY_EMOJI = {
    "critical": ":rotating_light:",
    "high": ":rotating_light:",
    "medium": ":warning:",
    "warning": ":warning:",
    "low": ":information_source:",
}


class WebhookRefused(ValueError):
    """The webhook URL (or the secret that holds it) is not one PHI Guard sends to."""


class SlackDeliveryError(RuntimeError):
    """Slack did not take the message: a non-2xx answer, a timeout or a broken connection."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


# --- text helpers ---------------------------------------------------------------------------------


def escape(text: str) -> str:
    """Slack mrkdwn treats &, < and > as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def fit(text: str, limit: int, note: str = SHORTENED) -> str:
    """text within limit characters: cut on a line boundary when one is near, never inside an entity."""
    if len(text) <= limit:
        return text
    room = max(limit - len(note), 0)
    cut = text[:room]
    line_end = cut.rfind("\n")
    if line_end > room // 2:
        cut = cut[:line_end]
    cut = re.sub(r"&[a-z]*$", "", cut)  # never half of an &amp;
    return (cut + note)[:limit]


def _code(text: str, limit: int) -> str:
    """A code block of text (escaped), the fences included in the limit."""
    return "```" + fit(escape(text), limit - 6) + "```"


def _section(title: str, body: str, limit: int = SECTION_LIMIT) -> JsonDict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": fit(f"*{title}*\n{body}", limit)}}


def _bullets(lines: list[str] | tuple[str, ...]) -> str:
    return "\n".join(f"• {escape(line)}" for line in lines) or "_(none recorded)_"


def _header(text: str) -> JsonDict:
    return {"type": "header", "text": {"type": "plain_text", "text": fit(text, HEADER_LIMIT, "…"), "emoji": True}}


def _context(*texts: str) -> JsonDict:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": fit(t, FIELD_LIMIT)} for t in texts[:10]]}


def _fields(pairs: list[tuple[str, str]]) -> JsonDict:
    return {
        "type": "section",
        "fields": [
            {"type": "mrkdwn", "text": fit(f"*{name}*\n{value}", FIELD_LIMIT)}
            for name, value in pairs[:FIELDS_PER_SECTION]
        ],
    }


def _link(url: str, label: str) -> str:
    return f"<{url}|{escape(label).replace('|', '¦')}>"


def _message(text: str, blocks: list[JsonDict]) -> JsonDict:
    if len(blocks) > BLOCK_LIMIT:
        omitted = len(blocks) - BLOCK_LIMIT + 1
        blocks = [*blocks[: BLOCK_LIMIT - 1], _context(f"… {omitted} more parts left out (Slack shows 50 at most)")]
    return {"text": fit(text, TEXT_LIMIT), "blocks": blocks}


# --- rendering ------------------------------------------------------------------------------------


def render(body: str) -> JsonDict:
    """The webhook payload for one SNS message body; a body that is not one of ours is sent as text."""
    try:
        data = json.loads(body)
    except ValueError:
        return plain_text(body)
    if not isinstance(data, dict):
        return plain_text(body)
    if data.get("kind") == "alert":
        return alert_message(data)
    if data.get("kind") == "digest":
        try:
            return digest_message(Digest.from_json(data))
        except (KeyError, TypeError, ValueError, AttributeError):
            return plain_text(body)
    if "AlarmName" in data and "NewStateValue" in data:
        return alarm_message(data)
    try:
        result = Result.from_json(data)
    except (KeyError, TypeError, ValueError, AttributeError):
        return plain_text(body)
    return result_message(result, str(data.get("severity") or ""))


def plain_text(body: str) -> JsonDict:
    """A message PHI Guard cannot read is still shown, as it came."""
    return {"text": fit(escape(body.strip() or "(an empty notification)"), TEXT_LIMIT)}


def result_message(result: Result, severity: str = "") -> JsonDict:
    r, res = result, result.resource
    emoji, word, headline = _OUTCOMES[r.outcome]
    name = short_name(res.resource_id)
    actor = r.actor
    url = console_url(res.resource_type, res.resource_id, res.region)

    blocks: list[JsonDict] = [
        _header(f"{emoji} {word}: {r.control_id}"),
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": fit(f"*{headline}*\n{escape(r.title)}", SECTION_LIMIT)},
        },
        _fields(
            [
                ("Resource", f"{_link(url, name)}\n`{escape(res.resource_id)}`\n{escape(res.resource_type)}"),
                ("Account / region", f"{escape(res.account_id)} / {escape(res.region)}"),
                ("Control", f"`{escape(r.control_id)}`"),
                ("HIPAA", escape("45 CFR " + ", ".join(r.hipaa)) if r.hipaa else "_(none)_"),
                ("Changed by", escape(actor.display) if actor else "unknown"),
                ("When", escape(f"{actor.event_time} ({actor.event_name})") if actor else "unknown"),
                ("Mode", escape(str(r.mode))),
                ("Evidence", escape(r.evidence_id) if r.evidence_id else escape(_no_evidence(r))),
                *([("Severity", escape(severity))] if severity else []),
            ]
        ),
        _section("What was wrong", _bullets([v.summary for v in r.violations])),
    ]
    if r.outcome in (Outcome.WOULD_REMEDIATE, Outcome.HELD):
        blocks.append(_section("What PHI Guard would change in enforce mode", _bullets(r.changes)))
    elif r.outcome is Outcome.REMEDIATED or r.changes:
        blocks.append(_section("What PHI Guard changed", _bullets(r.changes)))
    if r.reason and r.outcome is not Outcome.REMEDIATED:
        blocks.append(_section("Why it was not changed", escape(r.reason)))
    if r.exemption:
        blocks.append(_section("Exemption", escape(r.exemption)))
    if r.remaining and r.outcome is not Outcome.EXEMPT:
        blocks.append(_section("What a person must do", _steps(r)))
    if r.error:
        blocks.append(_section("Why it failed", _code(r.error, SECTION_LIMIT - 20)))
    blocks.append(_section("Before / after, in short", _code(_in_short(r), SECTION_LIMIT - 40)))
    event = f"event `{escape(actor.event_id)}`" if actor else "no triggering event"
    kept = f"evidence row `{escape(r.evidence_id)}` holds the full states" if r.evidence_id else "no evidence row"
    blocks.append(_context(f"PHI Guard · {event} · {kept}"))

    text = f"PHI Guard: {word}: {r.control_id} on {name} ({res.account_id}/{res.region}). {headline}"
    return _message(escape(text), blocks)


def _no_evidence(result: Result) -> str:
    if result.bookkeeping_error:
        return f"NOT RECORDED YET ({result.bookkeeping_error}); the retry records it"
    return "not recorded (no evidence table configured)"


def _steps(result: Result) -> str:
    lines: list[str] = []
    for violation in result.remaining:
        lines.append(f"• {escape(violation.summary)}")
        lines += [f"    {n}. {escape(step)}" for n, step in enumerate(violation.manual_steps, 1)]
    return "\n".join(lines)


def _in_short(result: Result) -> str:
    """What changed between the recorded states, one line per top-level key that differs (as in the e-mail)."""
    return "\n".join(in_short(result, arrow="→", more="…"))


def alert_message(data: JsonDict) -> JsonDict:
    """An alert about PHI Guard itself (the brake), not about one resource."""
    severity = str(data.get("severity") or "warning")
    subject = str(data.get("subject") or "PHI Guard alert")
    text = str(data.get("text") or "")
    blocks = [
        _header(f"{_SEVERITY_EMOJI.get(severity.lower(), ':warning:')} PHI Guard alert ({severity})"),
        _section(escape(subject), escape(text) or "_(no details)_"),
        _context("PHI Guard · an alert about PHI Guard itself, not about one resource"),
    ]
    return _message(escape(f"PHI Guard alert ({severity}): {subject}"), blocks)


def digest_message(digest: Digest) -> JsonDict:
    """The summary of a de-duplication window: how many more messages about one drift were merged."""
    r, res = digest.first, digest.first.resource
    emoji, word, _ = _OUTCOMES[r.outcome]
    name = short_name(res.resource_id)
    url = console_url(res.resource_type, res.resource_id, res.region)
    story = (
        f"{digest.count} more event(s) ended with the same outcome within {digest.window_seconds} seconds of the "
        f"first, which was posted at once ({digest.first_at}). They were counted instead of posted one by one; "
        f"each has its own evidence row."
    )
    blocks = [
        _header(f"{emoji} {digest.count} more: {word}: {r.control_id}"),
        _section(escape(f"{digest.count} more messages about one drift, merged into this summary"), escape(story)),
        _fields(
            [
                ("Resource", f"{_link(url, name)}\n`{escape(res.resource_id)}`\n{escape(res.resource_type)}"),
                ("Account / region", f"{escape(res.account_id)} / {escape(res.region)}"),
                ("Control", f"`{escape(r.control_id)}`"),
                ("Severity", escape(str(digest.severity))),
                ("Last", escape(f"{digest.last_at} by {digest.last_actor}")),
                ("Evidence of the last", escape(digest.last_evidence_id or "-")),
            ]
        ),
        _section("What was wrong (as in the first message)", _bullets([v.summary for v in r.violations])),
        _context(
            escape(f"phiguard evidence --control {r.control_id} --resource {res.resource_id} --since {digest.first_at}")
        ),
    ]
    text = f"PHI Guard: {digest.count} more: {word}: {r.control_id} on {name} ({res.account_id}/{res.region})"
    return _message(escape(text), blocks)


def alarm_message(data: JsonDict) -> JsonDict:
    """A CloudWatch alarm published to the topic (the failure-queue alarm)."""
    name, state = str(data["AlarmName"]), str(data["NewStateValue"])
    arn = str(data.get("AlarmArn") or "")
    region = arn.split(":")[3] if arn.count(":") >= 5 else ""
    details = [str(data.get("AlarmDescription") or ""), str(data.get("NewStateReason") or "")]
    fields = [
        ("Alarm", escape(name)),
        ("State", escape(f"{data.get('OldStateValue', '?')} → {state}")),
        ("Account / region", escape(f"{data.get('AWSAccountId', '?')} / {region or data.get('Region', '?')}")),
        ("When", escape(str(data.get("StateChangeTime") or "unknown"))),
    ]
    if region:
        fields.append(("Console", _link(console_url("AWS::CloudWatch::Alarm", name, region), "the alarm")))
    emoji = ":rotating_light:" if state == "ALARM" else ":large_green_circle:"
    blocks = [
        _header(f"{emoji} Alarm {state}: {name}"),
        _section("What happened", escape("\n".join(d for d in details if d)) or "_(no details)_"),
        _fields(fields),
    ]
    return _message(escape(f"CloudWatch alarm {name} is {state}"), blocks)


# --- sending --------------------------------------------------------------------------------------


def webhook_url(secret_value: str) -> str:
    """The URL from the secret: the plain URL, or JSON {"url": ...} / {"webhook_url": ...}."""
    value = secret_value.strip()
    if value.startswith("{"):
        try:
            data = json.loads(value)
        except ValueError:
            raise WebhookRefused("the webhook secret is neither a URL nor valid JSON") from None
        found = (data.get("url") or data.get("webhook_url")) if isinstance(data, dict) else None
        if not isinstance(found, str) or not found.strip():
            raise WebhookRefused('the webhook secret\'s JSON has no "url" or "webhook_url" string')
        value = found.strip()
    if not value:
        raise WebhookRefused("the webhook secret is empty")
    return value


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str, *, allow_loopback: bool = False) -> None:
    """https only; http on a loopback address only when allowed. The message never shows the URL."""
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise WebhookRefused("the webhook URL has spaces or control characters")
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        raise WebhookRefused("the webhook URL cannot be parsed") from None
    if parts.scheme == "https" and host:
        return
    if parts.scheme == "http" and _is_loopback(host):
        if allow_loopback:
            return
        raise WebhookRefused(
            "the webhook URL is http on a loopback address, which only a local run may use "
            "(set PHIGUARD_ALLOW_LOOPBACK_WEBHOOK=true)"
        )
    scheme = f"{parts.scheme}://" if parts.scheme else "no scheme"
    raise WebhookRefused(f"the webhook URL must be https (it has {scheme} on a non-loopback host)")


class _NoRedirects(HTTPRedirectHandler):
    """A redirect could lead off https or away from Slack: a 3xx is a failed delivery."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def post(url: str, body: JsonDict, timeout: float, *, allow_loopback: bool = False) -> int:
    """POST the message as JSON; the HTTP status of a 2xx answer, SlackDeliveryError for anything else."""
    check_url(url, allow_loopback=allow_loopback)
    loopback = _is_loopback(urlsplit(url).hostname)
    handlers: list[Any] = [_NoRedirects()] + ([ProxyHandler({})] if loopback else [])
    data = json.dumps(body).encode()
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "phiguard"}
    try:
        request = Request(url, data=data, method="POST", headers=headers)
        with build_opener(*handlers).open(request, timeout=timeout) as response:
            status = int(response.status)
            response.read(1024)
    except HTTPError as e:
        reply = _reply(e)
        logger.warning("slack refused the message", status=e.code, reply=reply)
        raise SlackDeliveryError(f"Slack answered HTTP {e.code}: {reply}", e.code) from e
    except (URLError, OSError, http.client.HTTPException) as e:
        reason = e.reason if isinstance(e, URLError) else e
        logger.warning("slack could not be reached", error=type(reason).__name__)
        raise SlackDeliveryError(f"Slack could not be reached: {type(reason).__name__}: {reason}") from e
    except ValueError:  # http.client.InvalidURL and its kind quote the URL: not chained, so never logged
        raise SlackDeliveryError("the webhook URL was refused by the HTTP client as malformed") from None
    if not 200 <= status < 300:
        raise SlackDeliveryError(f"Slack answered HTTP {status}", status)
    return status


def _reply(error: HTTPError) -> str:
    try:
        text = error.read(300).decode("utf-8", "replace").strip()
    except (OSError, http.client.HTTPException):
        text = ""
    finally:
        error.close()
    return text or (error.reason if isinstance(error.reason, str) else "") or "no reason given"
