"""cdk-nag acknowledgements: every one names the rule finding and a specific reason.

cdk-nag 3.x uses CDK's `Validations.of(construct).acknowledge(...)`; a granular finding (IAM5)
is acknowledged as `AwsSolutions-IAM5[Resource::<resource>]` / `[Action::<action>]`, which is as
narrow as `appliesTo` was in cdk-nag 2.x. docs/infrastructure.md lists all of them.
"""

from __future__ import annotations

from collections.abc import Iterable

import aws_cdk as cdk
from constructs import IConstruct


def ack(scope: IConstruct, rule: str, reason: str, findings: Iterable[str] = ()) -> None:
    """Acknowledge `AwsSolutions-<rule>` on `scope` (and what it contains), per finding if given."""
    items = list(findings)
    ids = [f"AwsSolutions-{rule}[{f}]" for f in items] if items else [f"AwsSolutions-{rule}"]
    cdk.Validations.of(scope).acknowledge(*[cdk.Acknowledgment(id=i, reason=reason) for i in ids])
