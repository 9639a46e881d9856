"""iam-root-access-key-check: the root user has no access keys (notify: only the root user can delete them).

Scenarios:
- Given the root user creates an access key, Then a person is told the steps to delete it.
- Given an IAM user or role creates an access key, Then the control is not triggered.
- Given no root access keys, Then compliant.
"""

from __future__ import annotations

from phiguard.core.control import Control, register
from phiguard.core.lb_account import ACCOUNT_TYPE, root_account
from phiguard.core.model import Action, Evaluation, ResourceRef, Severity, Trigger, Violation

STEPS = (
    "Sign in as the root user and open Security credentials.",
    "Find what uses each root access key (its last-used service and time), and move that use to an IAM role "
    "(or an IAM Identity Center user) with only the permissions it needs.",
    "Deactivate the root access keys, then delete them once nothing fails.",
    "Keep MFA on the root user and use it only for the tasks that need root.",
)


@register
class IamRootAccessKeyCheck(Control):
    control_id = "iam-root-access-key-check"
    title = "The root user has no access keys"
    resource_type = ACCOUNT_TYPE
    account_wide = True
    hipaa = ("164.312(a)(1)", "164.312(a)(2)(i)")
    action = Action.NOTIFY
    severity = Severity.CRITICAL
    permissions = ("iam:GetAccountSummary",)
    triggers = (Trigger("aws.iam", "CreateAccessKey", root_account),)

    def evaluate(self, ref: ResourceRef) -> Evaluation:
        summary = self.clients.iam().get_account_summary()["SummaryMap"]
        keys = int(summary.get("AccountAccessKeysPresent", 0))
        state = {"account_access_keys_present": keys}
        if not keys:
            return Evaluation.of(state, [])
        return Evaluation.of(
            state,
            [Violation(summary="the root user has access keys", fix=None, detail={"keys": keys}, manual_steps=STEPS)],
        )
