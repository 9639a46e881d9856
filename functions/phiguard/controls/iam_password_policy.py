"""iam-password-policy: the account password policy meets the HIPAA baseline.

Baseline: at least 14 characters; upper case, lower case, numbers and symbols required; the last 24
passwords may not be reused; passwords expire within 90 days.

Scenarios:
- Given no account password policy, Then the baseline policy is set (users may change their own password).
- Given a policy weaker on some settings, Then only those are raised; stronger values and
  AllowUsersToChangePassword/HardExpiry stay as they were (UpdateAccountPasswordPolicy resets every field
  it is not sent, so every current value is sent).
- Given passwords that never expire, Then they expire after 90 days.
- Given a policy meeting the baseline, Then compliant.
- Given a fix reverted, Then the previous policy is back exactly, or deleted when there was none.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from phiguard.core.control import Control, register
from phiguard.core.events import the_account
from phiguard.core.lb_account import ACCOUNT_TYPE
from phiguard.core.model import Action, Evaluation, JsonDict, ResourceRef, Result, Trigger, Violation

if TYPE_CHECKING:
    from mypy_boto3_iam.type_defs import UpdateAccountPasswordPolicyRequestTypeDef

MIN_LENGTH, MIN_REUSE, MAX_AGE = 14, 24, 90
REQUIRED = ("RequireUppercaseCharacters", "RequireLowercaseCharacters", "RequireNumbers", "RequireSymbols")
# What UpdateAccountPasswordPolicy accepts, read back from GetAccountPasswordPolicy.
FIELDS = (
    "MinimumPasswordLength",
    *REQUIRED,
    "AllowUsersToChangePassword",
    "MaxPasswordAge",
    "PasswordReusePrevention",
    "HardExpiry",
)


def _shortfalls(policy: JsonDict | None) -> list[tuple[str, Any, Any]]:
    """(field, current, required) for every setting below the baseline."""
    policy = policy or {}
    found: list[tuple[str, Any, Any]] = []
    if int(policy.get("MinimumPasswordLength") or 0) < MIN_LENGTH:
        found.append(("MinimumPasswordLength", policy.get("MinimumPasswordLength"), MIN_LENGTH))
    found += [(name, policy.get(name, False), True) for name in REQUIRED if not policy.get(name)]
    if int(policy.get("PasswordReusePrevention") or 0) < MIN_REUSE:
        found.append(("PasswordReusePrevention", policy.get("PasswordReusePrevention"), MIN_REUSE))
    age = int(policy.get("MaxPasswordAge") or 0)
    if not 0 < age <= MAX_AGE:
        found.append(("MaxPasswordAge", policy.get("MaxPasswordAge") or "never expires", MAX_AGE))
    return found


def _request(policy: JsonDict) -> UpdateAccountPasswordPolicyRequestTypeDef:
    """The UpdateAccountPasswordPolicy arguments that reproduce the policy exactly."""
    request: dict[str, Any] = {name: policy[name] for name in FIELDS if policy.get(name) is not None}
    if not request.get("MaxPasswordAge"):
        request.pop("MaxPasswordAge", None)  # 0 means "never expires": it is sent by leaving it out
    if not request.get("PasswordReusePrevention"):
        request.pop("PasswordReusePrevention", None)
    return request  # type: ignore[return-value]


@register
class IamPasswordPolicy(Control):
    control_id = "iam-password-policy"
    title = "The account password policy meets the HIPAA baseline"
    resource_type = ACCOUNT_TYPE
    account_wide = True
    hipaa = ("164.308(a)(5)(ii)(D)", "164.312(d)")
    action = Action.FIX
    permissions = (
        "iam:GetAccountPasswordPolicy",
        "iam:UpdateAccountPasswordPolicy",
        "iam:DeleteAccountPasswordPolicy",
    )
    triggers = tuple(
        Trigger("aws.iam", name, the_account) for name in ("UpdateAccountPasswordPolicy", "DeleteAccountPasswordPolicy")
    )

    def evaluate(self, ref: ResourceRef) -> Evaluation:
        client = self.clients.iam()
        try:
            policy: JsonDict | None = dict(client.get_account_password_policy()["PasswordPolicy"])
        except client.exceptions.NoSuchEntityException:
            policy = None
        state: JsonDict = {"password_policy": policy}
        return Evaluation.of(
            state,
            [
                Violation(
                    summary=f"{name} is {'not set' if current is None else current}, the baseline is {required}"
                    if policy is not None
                    else f"no password policy: {name} must be {required}",
                    fix=f"set {name} to {required}",
                    detail={"field": name, "current": current, "required": required},
                )
                for name, current, required in _shortfalls(policy)
            ],
        )

    def remediate(self, ref: ResourceRef, evaluation: Evaluation) -> list[str]:
        policy: JsonDict | None = evaluation.state.get("password_policy")
        raised = {str(v.detail["field"]): v.detail["required"] for v in evaluation.fixable}
        if not raised:
            return []
        # Start from every current value (or the API defaults), keep what is stronger, raise what is weak.
        target: JsonDict = {**({"AllowUsersToChangePassword": True} if policy is None else policy), **raised}
        self.clients.iam().update_account_password_policy(**_request(target))
        return [f"set {name} to {value}" for name, value in raised.items()]

    def revert(self, ref: ResourceRef, fixed: Result) -> list[str]:
        client = self.clients.iam()
        before: JsonDict | None = fixed.state_before.get("password_policy")
        if before is None:
            client.delete_account_password_policy()
            return ["deleted the account password policy (there was none before the fix)"]
        client.update_account_password_policy(**_request(before))
        return ["restored the previous account password policy"]
