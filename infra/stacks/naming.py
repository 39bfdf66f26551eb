"""Physical names: every resource name is derived from the stage and the catalog's logical name.

Deterministic names let each stack reference resources of another stack by name/ARN (no
CloudFormation exports that would lock a resource against replacement) and let tests match
IAM policies to catalog entries.
"""

from __future__ import annotations

import aws_cdk as cdk

from infra import wiring


class Names:
    def __init__(self, stage: str) -> None:
        self.stage = stage
        self.prefix = f"omp-{stage}"

    def table(self, name: str) -> str:
        return f"{self.prefix}-{name}"

    def queue(self, name: str) -> str:
        return f"{self.prefix}-{name}"

    def dlq(self, name: str) -> str:
        return f"{self.prefix}-{name}-dlq"

    def bus(self, name: str) -> str:
        return "default" if name == wiring.DEFAULT_BUS else f"{self.prefix}-{name}"

    def topic(self, name: str) -> str:
        return f"{self.prefix}-{name}"

    def bucket_prefix(self, name: str) -> str:
        return f"{self.prefix}-{name}-"

    def bucket(self, name: str) -> str:
        # S3 names are global: qualify with account and region.
        return f"{self.bucket_prefix(name)}{cdk.Aws.ACCOUNT_ID}-{cdk.Aws.REGION}"

    def function(self, name: str) -> str:
        return f"{self.prefix}-{name}"

    def machine(self, name: str) -> str:
        return f"{self.prefix}-{name}"

    @property
    def api(self) -> str:
        return f"{self.prefix}-api"

    def stack(self, part: str) -> str:
        return f"{self.prefix}-{part}"

    # ARNs built from names (usable in any stack of the app, same account/region)
    def queue_arn(self, scope: cdk.Stack, name: str) -> str:
        return scope.format_arn(
            service="sqs", resource=self.queue(name), arn_format=cdk.ArnFormat.NO_RESOURCE_NAME
        )

    def dlq_arn(self, scope: cdk.Stack, name: str) -> str:
        return scope.format_arn(
            service="sqs", resource=self.dlq(name), arn_format=cdk.ArnFormat.NO_RESOURCE_NAME
        )

    def queue_url(self, name: str) -> str:
        return f"https://sqs.{cdk.Aws.REGION}.{cdk.Aws.URL_SUFFIX}/{cdk.Aws.ACCOUNT_ID}/{self.queue(name)}"

    def dlq_url(self, name: str) -> str:
        return f"https://sqs.{cdk.Aws.REGION}.{cdk.Aws.URL_SUFFIX}/{cdk.Aws.ACCOUNT_ID}/{self.dlq(name)}"

    def topic_arn(self, scope: cdk.Stack, name: str) -> str:
        return scope.format_arn(
            service="sns", resource=self.topic(name), arn_format=cdk.ArnFormat.NO_RESOURCE_NAME
        )

    def function_arn(self, scope: cdk.Stack, name: str) -> str:
        return scope.format_arn(
            service="lambda",
            resource="function",
            resource_name=self.function(name),
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )

    def machine_arn(self, scope: cdk.Stack, name: str) -> str:
        return scope.format_arn(
            service="states",
            resource="stateMachine",
            resource_name=self.machine(name),
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )
