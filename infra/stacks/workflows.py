"""Workflows stack: a Step Functions state machine per catalog StateMachine.

A Task's `Resource: "fn:<function-name>"` is rewritten to `${fn_<name>}` and resolved to the
function ARN through DefinitionSubstitutions; the role may invoke exactly those functions.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.stacks.config import StageConfig
from infra.stacks.foundation import cid
from infra.stacks.nag import ack
from infra.stacks.naming import Names
from infra.stacks.telemetry import log_group
from infra.wiring import Catalog

FN_PREFIX = "fn:"


def substitution_key(function_name: str) -> str:
    return "fn_" + re.sub(r"[^A-Za-z0-9_]", "_", function_name)


def rewrite_tasks(definition: Any, used: set[str]) -> Any:
    """Copy of the ASL with every `Resource: "fn:<name>"` replaced by `${fn_<name>}`."""
    if isinstance(definition, Mapping):
        out: dict[str, Any] = {}
        for key, value in definition.items():
            if key == "Resource" and isinstance(value, str) and value.startswith(FN_PREFIX):
                name = value[len(FN_PREFIX) :]
                used.add(name)
                out[key] = "${" + substitution_key(name) + "}"
            else:
                out[key] = rewrite_tasks(value, used)
        return out
    if isinstance(definition, list):
        return [rewrite_tasks(item, used) for item in definition]
    return definition


class WorkflowsStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        cid_: str,
        *,
        config: StageConfig,
        catalog: Catalog,
        key: kms.IKey,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, cid_, **kwargs)  # type: ignore[arg-type]
        names = Names(config.stage)
        known = {fn.name for fn in catalog.functions}
        self.machines: dict[str, sfn.StateMachine] = {}
        for spec in catalog.state_machines:
            used: set[str] = set()
            definition = rewrite_tasks(spec.definition, used)
            unknown = used - known
            if unknown:
                raise ValueError(f"state machine {spec.name}: unknown functions {sorted(unknown)}")
            base = cid(spec.name)
            machine_logs = log_group(
                self,
                f"{base}Logs",
                name=f"/aws/vendedlogs/states/{names.machine(spec.name)}",
                config=config,
                key=key,
            )
            role = iam.Role(
                self,
                f"{base}Role",
                assumed_by=iam.ServicePrincipal("states.amazonaws.com"),
                description=f"om-platform {config.stage} state machine {spec.name}",
            )
            if used:
                role.add_to_policy(
                    iam.PolicyStatement(
                        actions=["lambda:InvokeFunction"],
                        resources=[names.function_arn(self, n) for n in sorted(used)],
                    )
                )
            machine = sfn.StateMachine(
                self,
                base,
                state_machine_name=names.machine(spec.name),
                definition_body=sfn.DefinitionBody.from_string(json.dumps(definition)),
                definition_substitutions={
                    substitution_key(n): names.function_arn(self, n) for n in sorted(used)
                },
                role=role,
                tracing_enabled=True,
                logs=sfn.LogOptions(
                    destination=machine_logs, level=sfn.LogLevel.ALL, include_execution_data=False
                ),
            )
            ack(
                role,
                "IAM5",
                f"State machine {spec.name}: CloudWatch Logs delivery (logs:CreateLogDelivery "
                "etc.) and X-Ray tracing actions support no resource-level permissions.",
                ["Resource::*"],
            )
            self.machines[spec.name] = machine
