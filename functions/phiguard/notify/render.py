"""Notification bodies, pure: plain text for e-mail, full JSON for programs, the chat format for AWS Chatbot.

One SNS message carries one body per protocol (MessageStructure=json):
- email (and default): readable plain text, the story first, no JSON blob; before/after only as what changed
  (the evidence row keeps both whole states);
- sqs and lambda: the full result JSON (the Slack notifier reads the lambda body), with its severity;
- https: the custom-notification format of AWS Chatbot (Amazon Q Developer in chat applications), so a topic
  already routed to Slack or Microsoft Teams through it needs no webhook. Chatbot drops what is not in a format
  it knows, so every message PHI Guard publishes, alerts and summaries included, has an https body of this form.
"""

from __future__ import annotations

import json
from typing import Any

from phiguard.core.model import JsonDict, Outcome, Result, Severity, Violation
from phiguard.notify.console import console_url
from phiguard.notify.digest import Digest
from phiguard.notify.severity import severity_of

SUBJECT_LIMIT = 100  # SNS: at most 100 printable ASCII characters, no line breaks
MESSAGE_LIMIT = 200_000  # SNS takes 256 KB for all protocol bodies together; keep a margin
EMAIL_LIMIT = 60_000  # characters of an e-mail; the evidence row has everything
SHORT_VALUE = 160  # characters of one value in the before/after summary
SHORT_LINES = 12  # differences shown in the before/after summary
SHORT_BUDGET = 2400  # characters of those lines, so the count of the rest always fits
# AWS Chatbot custom notifications: {"version": "1.0", "source": "custom", "content": {"textType":
# "client-markdown", "title", "description", "nextSteps": [...], "keywords": [...]}, "metadata": {...}}
# (the Amazon Q Developer in chat applications guide, "Custom notifications"). version, source and a
# description are required. The caps below are PHI Guard's own, kept small so a chat message stays readable.
CHAT_TITLE_LIMIT = 250
CHAT_DESCRIPTION_LIMIT = 3500
CHAT_STEPS = 8
CHAT_STEP_LIMIT = 500
CHAT_KEYWORDS = 5
CHAT_KEYWORD_LIMIT = 60

_HEADLINES = {
    Outcome.REMEDIATED: "PHI Guard fixed a HIPAA baseline drift.",
    Outcome.WOULD_REMEDIATE: "PHI Guard found a HIPAA baseline drift (dry-run mode: nothing was changed).",
    Outcome.NEEDS_ATTENTION: "PHI Guard found a HIPAA baseline drift that needs a person.",
    Outcome.FAILED: "PHI Guard could not fix a HIPAA baseline drift. Action needed.",
    Outcome.EXEMPT: "PHI Guard found a HIPAA baseline drift on an exempt resource and left it alone.",
    Outcome.HELD: "PHI Guard held a fix: the blast-radius brake is engaged (notify-only for now).",
    Outcome.REVERTED: "A person reverted a fix PHI Guard had made.",
    Outcome.COMPLIANT: "PHI Guard found the resource compliant.",
    Outcome.NOT_APPLICABLE: "PHI Guard found the control not applicable.",
}

_SUBJECT_WORDS = {
    Outcome.REMEDIATED: "Fixed",
    Outcome.WOULD_REMEDIATE: "Would fix (dry-run)",
    Outcome.NEEDS_ATTENTION: "Action needed",
    Outcome.FAILED: "FAILED to fix",
    Outcome.EXEMPT: "Exempt",
    Outcome.HELD: "HELD by the brake",
    Outcome.REVERTED: "Reverted",
    Outcome.COMPLIANT: "Compliant",
    Outcome.NOT_APPLICABLE: "Not applicable",
}


def short_name(resource_id: str) -> str:
    """The readable part of an ARN (app/frontend-alb/50dc... -> frontend-alb); ids and names as they are."""
    if not resource_id.startswith("arn:"):
        return resource_id
    path = resource_id.split(":", 5)[-1].split("/")
    return path[2] if len(path) > 2 and path[1] in ("app", "net", "gwy") else path[-1]


def _prefix(severity: Severity) -> str:
    return "PHI Guard CRITICAL" if severity is Severity.CRITICAL else "PHI Guard"


def fit_subject(text: str) -> str:
    """Printable ASCII, one line, within SNS's limit."""
    text = "".join(c if 32 <= ord(c) < 127 else "?" for c in text)
    return text if len(text) <= SUBJECT_LIMIT else text[: SUBJECT_LIMIT - 3] + "..."


def subject(result: Result, severity: Severity | None = None) -> str:
    severity = severity or severity_of(result)
    name = short_name(result.resource.resource_id)
    return fit_subject(f"{_prefix(severity)}: {_SUBJECT_WORDS[result.outcome]}: {result.control_id} on {name}")


def _bullets(lines: list[str] | tuple[str, ...]) -> list[str]:
    return [f"  - {line}" for line in lines] or ["  (none)"]


def _steps(violations: tuple[Violation, ...]) -> list[str]:
    lines: list[str] = []
    for violation in violations:
        lines.append(f"  {violation.summary}")
        lines += [f"    {n}. {step}" for n, step in enumerate(violation.manual_steps, 1)]
    return lines


def _why_not_changed(result: Result) -> str | None:
    r = result
    if r.outcome is Outcome.WOULD_REMEDIATE:
        return "Dry-run mode: PHI Guard only reports. Deploy with Mode=enforce to let it fix drift like this."
    if r.outcome is Outcome.NEEDS_ATTENTION and not r.changes:
        return r.reason or "PHI Guard does not change this by itself: it needs a person (the steps are below)."
    if r.reason and r.outcome not in (Outcome.REMEDIATED, Outcome.FAILED):
        return r.reason
    return None


def email_text(result: Result, severity: Severity | None = None) -> str:
    """The e-mail a person reads: the story first, then where, who and when; no JSON blob."""
    r, res = result, result.resource
    severity = severity or severity_of(result)
    lines = [_HEADLINES[r.outcome], "", "What was wrong:", *_bullets([v.summary for v in r.violations])]
    if r.outcome in (Outcome.WOULD_REMEDIATE, Outcome.HELD):
        lines += ["", "What PHI Guard would change in enforce mode:", *_bullets(r.changes)]
    elif r.outcome is Outcome.REMEDIATED or r.changes:
        lines += ["", "What PHI Guard changed:", *_bullets(r.changes)]
    if why := _why_not_changed(r):
        lines += ["", "Why it was not changed:", f"  {why}"]
    if r.exemption:
        lines += ["", "Exemption:", f"  {r.exemption}"]
    if r.error:
        lines += ["", "Why it failed:", f"  {r.error}"]
    if r.remaining and r.outcome is not Outcome.EXEMPT:
        lines += ["", "What a person must do:", *_steps(r.remaining)]
    actor = r.actor
    lines += [
        "",
        f"Resource:   {res.resource_type} {res.resource_id}",
        f"Console:    {console_url(res.resource_type, res.resource_id, res.region)}",
        f"Account:    {res.account_id}   Region: {res.region}",
        f"Control:    {r.control_id} ({r.title})",
        f"HIPAA:      45 CFR {', '.join(r.hipaa)}" if r.hipaa else "HIPAA:      (none)",
        f"Severity:   {severity}",
        f"Changed by: {actor.display if actor else 'unknown'}",
        f"When:       {actor.event_time if actor else 'unknown'} ({actor.event_name if actor else '-'}, "
        f"event {actor.event_id if actor else '-'})",
        f"Mode:       {r.mode}",
        f"Evidence:   {r.evidence_id or _no_evidence(r)}",
        "",
        "Before / after, in short (only what changed; the evidence row holds both whole states):",
        *[f"  {line}" for line in in_short(r)],
    ]
    return _cap("\n".join(lines) + "\n", EMAIL_LIMIT, r.evidence_id)


def _cap(text: str, limit: int, evidence_id: str | None) -> str:
    if len(text) <= limit:
        return text
    note = f"\n... (shortened; evidence row {evidence_id} has everything)\n"
    return text[: limit - len(note)] + note


def _no_evidence(result: Result) -> str:
    if result.bookkeeping_error:
        return f"NOT RECORDED YET ({result.bookkeeping_error}); the retry records it"
    return "not recorded (no evidence table configured)"


def _short(value: Any, more: str) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= SHORT_VALUE else text[: SHORT_VALUE - len(more)] + more


def in_short(result: Result, *, arrow: str = "->", more: str = "...") -> list[str]:
    """What changed between the recorded states: one line per top-level key that differs, a few at most."""
    before, after = result.state_before, result.state_after
    if set(before) == {"omitted"}:
        return [f"The states are too large for a notification: see evidence row {result.evidence_id}."]
    if after is None:
        return ["before: " + _short(before, more), "after: (not read again: nothing was changed)"]
    missing = object()

    def shown_value(value: object) -> str:
        return "(absent)" if value is missing else _short(value, more)

    lines = [
        f"{key}: {shown_value(b)} {arrow} {shown_value(a)}"
        for key in sorted(set(before) | set(after), key=str)
        if (b := before.get(key, missing)) != (a := after.get(key, missing))
    ]
    if not lines:
        return ["no difference in the recorded state"]
    shown: list[str] = []
    for line in lines[:SHORT_LINES]:
        if sum(len(s) + 1 for s in shown) + len(line) > SHORT_BUDGET:
            break
        shown.append(line)
    if len(shown) < len(lines):
        shown.append(f"{more} and {len(lines) - len(shown)} more differences (the evidence row has them all)")
    return shown


def message_json(result: Result, severity: Severity | None = None) -> str:
    """The full result, for programs (the sqs and lambda bodies), with its severity."""
    data = {**result.to_json(), "severity": str(severity or severity_of(result))}
    return json.dumps(data, sort_keys=True, default=str)


# --- AWS Chatbot (Amazon Q Developer in chat applications) ----------------------------------------------------


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def chat_notification(
    title: str,
    description: str,
    *,
    next_steps: list[str] | None = None,
    keywords: list[str] | None = None,
    thread_id: str | None = None,
    summary: str | None = None,
    event_type: str | None = None,
    related: list[str] | None = None,
    context: dict[str, str] | None = None,
    event_id: str | None = None,
) -> JsonDict:
    """A custom notification AWS Chatbot posts to Slack, Microsoft Teams or Chime as it is."""
    content: JsonDict = {
        "textType": "client-markdown",
        "title": _cut(title, CHAT_TITLE_LIMIT),
        "description": _cut(description.strip() or "(no details)", CHAT_DESCRIPTION_LIMIT),
    }
    steps = [_cut(s, CHAT_STEP_LIMIT) for s in (next_steps or []) if s]
    if len(steps) > CHAT_STEPS:
        steps = [*steps[: CHAT_STEPS - 1], f"... and {len(steps) - CHAT_STEPS + 1} more steps (see the e-mail)"]
    if steps:
        content["nextSteps"] = steps
    tags = list(dict.fromkeys(_cut(k, CHAT_KEYWORD_LIMIT) for k in (keywords or []) if k))[:CHAT_KEYWORDS]
    if tags:
        content["keywords"] = tags
    metadata: JsonDict = {}
    if thread_id:
        metadata["threadId"] = _cut(thread_id, 128)
    if summary:
        metadata["summary"] = _cut(summary, CHAT_TITLE_LIMIT)
    if event_type:
        metadata["eventType"] = event_type
    if related:
        metadata["relatedResources"] = related[:5]
    if context:
        metadata["additionalContext"] = {k: _cut(str(v), 256) for k, v in context.items() if v}
    message: JsonDict = {"version": "1.0", "source": "custom"}
    if event_id:
        message["id"] = event_id
    message["content"] = content
    if metadata:
        message["metadata"] = metadata
    return message


_CHAT_EMOJI = {
    Outcome.REMEDIATED: ":white_check_mark:",
    Outcome.WOULD_REMEDIATE: ":large_yellow_circle:",
    Outcome.NEEDS_ATTENTION: ":warning:",
    Outcome.FAILED: ":x:",
    Outcome.EXEMPT: ":white_circle:",
    Outcome.HELD: ":octagonal_sign:",
    Outcome.REVERTED: ":leftwards_arrow_with_hook:",
    Outcome.COMPLIANT: ":large_green_circle:",
    Outcome.NOT_APPLICABLE: ":heavy_minus_sign:",
}


def _thread(result: Result) -> str:
    """Messages about one drift (control and resource) thread together in the chat channel."""
    res = result.resource
    return f"phiguard-{result.control_id}-{res.account_id}-{res.region}-{short_name(res.resource_id)}"


def chat_message(result: Result, severity: Severity | None = None) -> JsonDict:
    r, res = result, result.resource
    severity = severity or severity_of(result)
    name = short_name(res.resource_id)
    url = console_url(res.resource_type, res.resource_id, res.region)
    actor = r.actor
    lines = [_HEADLINES[r.outcome], "", "What was wrong:", *[f"- {v.summary}" for v in r.violations]]
    if r.outcome in (Outcome.WOULD_REMEDIATE, Outcome.HELD):
        lines += ["", "What PHI Guard would change in enforce mode:", *[f"- {c}" for c in r.changes]]
    elif r.outcome is Outcome.REMEDIATED or r.changes:
        lines += ["", "What PHI Guard changed:", *[f"- {c}" for c in r.changes]]
    if why := _why_not_changed(r):
        lines += ["", f"Why it was not changed: {why}"]
    if r.error:
        lines += ["", f"Why it failed: {r.error}"]
    lines += [
        "",
        f"Resource: {res.resource_type} {res.resource_id}",
        f"Console: {url}",
        f"Account / region: {res.account_id} / {res.region}",
        f"HIPAA: 45 CFR {', '.join(r.hipaa)}" if r.hipaa else "HIPAA: (none)",
        f"Changed by: {actor.display} at {actor.event_time} ({actor.event_name})" if actor else "Changed by: unknown",
        f"Severity: {severity} | Mode: {r.mode} | Evidence: {r.evidence_id or _no_evidence(r)}",
    ]
    steps = [step for v in r.remaining if r.outcome is not Outcome.EXEMPT for step in v.manual_steps]
    if r.outcome is Outcome.FAILED:
        steps = [f"Look at why the fix failed, then fix it by hand or let the retry run: {url}", *steps]
    return chat_notification(
        f"{_CHAT_EMOJI[r.outcome]} {_SUBJECT_WORDS[r.outcome]}: {r.control_id} on {name}",
        "\n".join(lines),
        next_steps=steps,
        keywords=[str(severity), str(r.outcome), r.control_id],
        thread_id=_thread(r),
        summary=f"{_SUBJECT_WORDS[r.outcome]}: {r.control_id} on {name}",
        event_type=f"phiguard-{r.outcome}",
        related=[res.resource_id] if res.resource_id.startswith("arn:") else None,
        context={"account": res.account_id, "region": res.region, "severity": str(severity)},
        event_id=r.evidence_id or (actor.event_id if actor else None),
    )


def alert_chat_message(subject_line: str, text: str, severity: Severity) -> JsonDict:
    return chat_notification(
        f":rotating_light: {subject_line}" if severity is Severity.CRITICAL else subject_line,
        text,
        keywords=[str(severity), "alert"],
        event_type="phiguard-alert",
        context={"severity": str(severity)},
    )


# --- one SNS message, one body per protocol --------------------------------------------------------------------


def protocol_bodies(text: str, full: str, chat: JsonDict) -> str:
    """The Message of a MessageStructure=json publish."""
    return json.dumps({"default": text, "email": text, "sqs": full, "lambda": full, "https": json.dumps(chat)})


def sns_message(result: Result, severity: Severity | None = None) -> str:
    """One SNS message, one body per protocol (MessageStructure=json), always within SNS's size limit."""
    severity = severity or severity_of(result)
    text, full, chat = email_text(result, severity), message_json(result, severity), chat_message(result, severity)
    message = protocol_bodies(text, full, chat)
    if len(message.encode()) <= MESSAGE_LIMIT:
        return message
    omitted = {"omitted": f"too large for a notification; see evidence row {result.evidence_id}"}
    compact = {**result.to_json(), "state_before": omitted, "state_after": omitted, "severity": str(severity)}
    return protocol_bodies(text, json.dumps(compact, sort_keys=True, default=str), chat)


def alert_message(subject_line: str, text: str, severity: Severity) -> str:
    """An alert about PHI Guard itself (the brake, an unreadable event, a sweep's summary)."""
    full = json.dumps({"kind": "alert", "severity": str(severity), "subject": subject_line, "text": text})
    return protocol_bodies(text, full, alert_chat_message(subject_line, text, severity))


# --- the summary of a de-duplication window ------------------------------------------------------------------


def digest_subject(digest: Digest) -> str:
    r = digest.first
    name = short_name(r.resource.resource_id)
    words = _SUBJECT_WORDS[r.outcome]
    return fit_subject(f"{_prefix(digest.severity)}: {digest.count} more: {words}: {r.control_id} on {name}")


def _digest_story(digest: Digest) -> str:
    r = digest.first
    return (
        f"{digest.count} more event(s) about {r.control_id} on {r.resource.resource_id} ended with the same "
        f'outcome ("{_SUBJECT_WORDS[r.outcome]}") within {digest.window_seconds} seconds of the first, which was '
        f"sent at once ({digest.first_at}). They were counted here instead of sent one by one, so that a burst "
        f"does not bury other alerts. Each has its own evidence row."
    )


def digest_text(digest: Digest) -> str:
    r, res = digest.first, digest.first.resource
    lines = [
        f"PHI Guard: {digest.count} more message(s) about one drift, merged into this summary.",
        "",
        _digest_story(digest),
        "",
        "What was wrong (as in the first message):",
        *_bullets([v.summary for v in r.violations]),
        "",
        f"Resource:   {res.resource_type} {res.resource_id}",
        f"Console:    {console_url(res.resource_type, res.resource_id, res.region)}",
        f"Account:    {res.account_id}   Region: {res.region}",
        f"Control:    {r.control_id} ({r.title})",
        f"HIPAA:      45 CFR {', '.join(r.hipaa)}" if r.hipaa else "HIPAA:      (none)",
        f"Severity:   {digest.severity}",
        f"Outcome:    {r.outcome} ({digest.count} more)",
        f"Last:       {digest.last_at} by {digest.last_actor} (evidence {digest.last_evidence_id or '-'})",
        "",
        "Every one of them:",
        f"  phiguard evidence --control {r.control_id} --resource {res.resource_id} --since {digest.first_at}",
    ]
    return "\n".join(lines) + "\n"


def digest_message(digest: Digest) -> str:
    r, res = digest.first, digest.first.resource
    name = short_name(res.resource_id)
    chat = chat_notification(
        f"{_CHAT_EMOJI[r.outcome]} {digest.count} more: {_SUBJECT_WORDS[r.outcome]}: {r.control_id} on {name}",
        "\n".join(
            [
                _digest_story(digest),
                "",
                f"Resource: {res.resource_type} {res.resource_id}",
                f"Console: {console_url(res.resource_type, res.resource_id, res.region)}",
                f"Last: {digest.last_at} by {digest.last_actor}",
                f"Severity: {digest.severity} | Evidence of the last: {digest.last_evidence_id or '-'}",
            ]
        ),
        keywords=[str(digest.severity), str(r.outcome), r.control_id, "summary"],
        thread_id=_thread(r),
        summary=f"{digest.count} more: {r.control_id} on {name}",
        event_type="phiguard-summary",
        related=[res.resource_id] if res.resource_id.startswith("arn:") else None,
        context={"account": res.account_id, "region": res.region, "severity": str(digest.severity)},
    )
    full = json.dumps(digest.to_json(), sort_keys=True, default=str)
    return protocol_bodies(digest_text(digest), full, chat)
