"""Notification bodies, pure: plain text for people, full JSON for programs."""

from __future__ import annotations

import json

from phiguard.core.model import Outcome, Result, Violation

SUBJECT_LIMIT = 100  # SNS: at most 100 printable ASCII characters, no line breaks
MESSAGE_LIMIT = 200_000  # SNS takes 256 KB for all protocol bodies together; keep a margin
EMAIL_STATE_LIMIT = 6_000  # characters of each state a person is shown; the evidence row has it all

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


def subject(result: Result) -> str:
    name = short_name(result.resource.resource_id)
    text = f"PHI Guard: {_SUBJECT_WORDS[result.outcome]}: {result.control_id} on {name}"
    text = "".join(c if 32 <= ord(c) < 127 else "?" for c in text)
    return text if len(text) <= SUBJECT_LIMIT else text[: SUBJECT_LIMIT - 3] + "..."


def _bullets(lines: list[str] | tuple[str, ...]) -> list[str]:
    return [f"  - {line}" for line in lines] or ["  (none)"]


def _steps(violations: tuple[Violation, ...]) -> list[str]:
    lines: list[str] = []
    for violation in violations:
        lines.append(f"  {violation.summary}")
        lines += [f"    {n}. {step}" for n, step in enumerate(violation.manual_steps, 1)]
    return lines


def email_text(result: Result) -> str:
    r, res = result, result.resource
    lines = [_HEADLINES[r.outcome], "", "What was wrong:", *_bullets([v.summary for v in r.violations])]
    if r.outcome is Outcome.REMEDIATED or (r.changes and r.outcome not in (Outcome.WOULD_REMEDIATE, Outcome.HELD)):
        lines += ["", "What PHI Guard changed:", *_bullets(r.changes)]
    if r.outcome in (Outcome.WOULD_REMEDIATE, Outcome.HELD):
        lines += ["", "What PHI Guard would change in enforce mode:", *_bullets(r.changes)]
    if r.reason and r.outcome is Outcome.HELD:
        lines += ["", "Why it was not changed:", f"  {r.reason}"]
    if r.exemption:
        lines += ["", "Exemption:", f"  {r.exemption}"]
    if r.remaining and r.outcome is not Outcome.EXEMPT:
        lines += ["", "What a person must do:", *_steps(r.remaining)]
    if r.error:
        lines += ["", "Why it failed:", f"  {r.error}"]
    actor = r.actor
    lines += [
        "",
        f"Resource:   {res.resource_type} {res.resource_id}",
        f"Account:    {res.account_id}   Region: {res.region}",
        f"Control:    {r.control_id} ({r.title})",
        f"HIPAA:      45 CFR {', '.join(r.hipaa)}",
        f"Changed by: {actor.display if actor else 'unknown'}",
        f"When:       {actor.event_time if actor else 'unknown'} ({actor.event_name if actor else '-'}, "
        f"event {actor.event_id if actor else '-'})",
        f"Mode:       {r.mode}",
        f"Evidence:   {r.evidence_id or _no_evidence(r)}",
        "",
        "State before:",
        _state(r.state_before, r.evidence_id),
    ]
    if r.state_after is not None:
        lines += ["State after:", _state(r.state_after, r.evidence_id)]
    return "\n".join(lines) + "\n"


def _no_evidence(result: Result) -> str:
    if result.bookkeeping_error:
        return f"NOT RECORDED YET ({result.bookkeeping_error}); the retry records it"
    return "not recorded (no evidence table configured)"


def _state(state: object, evidence_id: str | None) -> str:
    text = json.dumps(state, indent=2, sort_keys=True, default=str)
    if len(text) > EMAIL_STATE_LIMIT:
        text = text[:EMAIL_STATE_LIMIT] + f"\n... (shortened; the whole state is in evidence row {evidence_id})"
    return "\n".join("  " + line for line in text.splitlines())


def message_json(result: Result) -> str:
    return json.dumps(result.to_json(), sort_keys=True, default=str)


def sns_message(result: Result) -> str:
    """One SNS message, one body per protocol (MessageStructure=json), always within SNS's size limit."""
    text, full = email_text(result), message_json(result)
    message = json.dumps({"default": text, "email": text, "sqs": full, "lambda": full, "https": full})
    if len(message.encode()) <= MESSAGE_LIMIT:
        return message
    omitted = {"omitted": f"too large for a notification; see evidence row {result.evidence_id}"}
    compact = json.dumps({**result.to_json(), "state_before": omitted, "state_after": omitted}, sort_keys=True)
    return json.dumps({"default": text, "email": text, "sqs": compact, "lambda": compact, "https": compact})
