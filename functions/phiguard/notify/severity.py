"""The severity of a message: one rule, so every channel and every subscription filter agrees.

1. A failure is critical: PHI Guard could not fix a drift (or could not even judge it), so it is still there.
2. An exempt finding is low: it is left alone on purpose, and the message only keeps the record visible.
3. Otherwise the control says how urgent its drift is (`Control.severity`, refined by `Control.severity_of`
   where violations differ, such as a database port open to the world):
   - critical: PHI or the audit trail exposed or about to be lost: world-open database ports, public buckets
     and public snapshots, publicly accessible databases, stopped or deleted trails, KMS keys scheduled for
     deletion, root access keys;
   - high: encryption, TLS or network limits missing;
   - medium (the default): hygiene such as logging, versioning, backups, key rotation, the password policy;
   - low: resilience and cost choices (Multi-AZ, the S3 gateway endpoint).
   The same drift keeps its severity whether it was fixed, would be fixed (dry-run) or needs a person: a
   database that was open to the world for a minute is still worth a critical look.
4. A fix held by the blast-radius brake is at least high: the drift stays until the brake releases.

Alerts about PHI Guard itself say their own severity: the brake is critical; an unreadable event and a sweep
summary without failures are medium ("warning" is read as medium).
"""

from __future__ import annotations

from phiguard.core.control import get_control
from phiguard.core.model import Outcome, Result, Severity

_ALIASES = {"warning": Severity.MEDIUM, "warn": Severity.MEDIUM, "error": Severity.HIGH, "info": Severity.LOW}


def severity_of(result: Result) -> Severity:
    if result.outcome is Outcome.FAILED:
        return Severity.CRITICAL
    if result.outcome is Outcome.EXEMPT:
        return Severity.LOW
    try:
        control = get_control(result.control_id)
    except KeyError:  # a result of a control this version no longer has: say it, but never fail on it
        severity = Severity.MEDIUM
    else:
        severity = control.severity_of(result)
    if result.outcome is Outcome.HELD:
        return severity.at_least(Severity.HIGH)
    return severity


def named(severity: str) -> Severity:
    """An alert's severity on the same scale as the findings' (an unknown word is medium)."""
    text = str(severity).strip().lower()
    try:
        return Severity(text)
    except ValueError:
        return _ALIASES.get(text, Severity.MEDIUM)
