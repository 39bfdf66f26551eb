"""Builds every stack of one stage from the catalog."""

from __future__ import annotations

from dataclasses import dataclass, field

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from infra import wiring
from infra.stacks.api import ApiStack
from infra.stacks.config import StageConfig
from infra.stacks.foundation import FoundationStack
from infra.stacks.network import NetworkStack
from infra.stacks.observability import ObservabilityStack
from infra.stacks.service import NetworkRefs, ServiceStack
from infra.stacks.workflows import WorkflowsStack
from infra.wiring import Catalog

# Feature flags this app relies on (set here unless cdk.json sets them):
FEATURE_FLAGS = {
    # S3 server access logs are delivered by a bucket policy, not the LogDeliveryWrite ACL, so
    # the log bucket can enforce bucket-owner object ownership (ACLs disabled).
    "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": True,
    # Cross-stack references (KMS key, VPC, user pool) stay CloudFormation exports ("strong"):
    # the producer stack is protected from deleting what a consumer still imports.
    "@aws-cdk/core:defaultCrossStackReferences": "strong",
}


@dataclass
class Platform:
    foundation: FoundationStack
    network: NetworkStack
    # by stack group: "monitoring", "monitoring-metrics" (wiring.Function.stack_group)
    services: dict[str, ServiceStack] = field(default_factory=dict)
    workflows: WorkflowsStack | None = None
    api: ApiStack | None = None
    observability: ObservabilityStack | None = None

    def stacks(self) -> list[cdk.Stack]:
        found: list[cdk.Stack] = [self.foundation, self.network, *self.services.values()]
        found += [s for s in (self.workflows, self.api, self.observability) if s is not None]
        return found


def build(
    app: cdk.App, *, stage: str | None = None, catalog: Catalog | None = None, nag: bool = True
) -> Platform:
    config = StageConfig.from_context(app.node, stage)
    for flag, value in FEATURE_FLAGS.items():
        if app.node.try_get_context(flag) is None:
            app.node.set_context(flag, value)
    if catalog is None:
        catalog = Catalog.from_module(wiring)  # runs wiring.validate()
    catalog.check()
    prefix = f"omp-{config.stage}"
    tags = {"project": "om-platform", "stage": config.stage}

    def props(part: str, description: str) -> dict[str, object]:
        return {"stack_name": f"{prefix}-{part}", "description": description, "tags": tags}

    foundation = FoundationStack(
        app,
        "Foundation",
        config=config,
        catalog=catalog,
        **props("foundation", "om-platform: KMS, tables, bus, queues, topics, buckets, Cognito"),
    )
    network = NetworkStack(
        app,
        "Network",
        config=config,
        key=foundation.key,
        **props("network", "om-platform: VPC, endpoints, Neptune, OpenSearch"),
    )
    platform = Platform(foundation=foundation, network=network)
    refs = NetworkRefs(
        vpc=network.vpc,
        client_security_group=network.client_security_group,
        graph_endpoint=NetworkStack.import_value(config.stage, "graph-endpoint"),
        search_endpoint=NetworkStack.import_value(config.stage, "search-endpoint"),
    )
    for service, part in catalog.stacks():
        group = wiring.stack_group(service, part)
        needs_network = any(fn.in_vpc for fn in catalog.functions if fn.stack_group == group)
        stack = ServiceStack(
            app,
            "Service" + "".join(word.capitalize() for word in group.split("-")),
            service=service,
            stack=part,
            config=config,
            catalog=catalog,
            key=foundation.key,
            network=refs if needs_network else None,
            cognito=(
                foundation.user_pool.user_pool_provider_url,
                foundation.app_client.user_pool_client_id,
            ),
            **props(
                f"svc-{group}",
                f"om-platform: {service} functions" + (f" ({part})" if part else ""),
            ),
        )
        stack.add_stack_dependency(foundation)
        if needs_network:
            stack.add_stack_dependency(network)
        platform.services[group] = stack

    if catalog.state_machines:
        platform.workflows = WorkflowsStack(
            app,
            "Workflows",
            config=config,
            catalog=catalog,
            key=foundation.key,
            **props("workflows", "om-platform: Step Functions state machines"),
        )
        for stack in platform.services.values():
            platform.workflows.add_stack_dependency(stack)

    if catalog.authorizer() is not None:
        platform.api = ApiStack(
            app,
            "Api",
            config=config,
            catalog=catalog,
            key=foundation.key,
            **props("api", "om-platform: REST API, authorizer, WAF"),
        )
        for stack in platform.services.values():
            platform.api.add_stack_dependency(stack)

    platform.observability = ObservabilityStack(
        app,
        "Observability",
        config=config,
        catalog=catalog,
        **props("observability", "om-platform: dashboard and platform alarms"),
    )
    platform.observability.add_stack_dependency(foundation)

    if nag:
        cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return platform
