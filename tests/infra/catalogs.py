"""A small test catalog that exercises code paths no production function uses yet."""

from __future__ import annotations

import dataclasses

from infra import wiring as w
from infra.wiring import Catalog

RUNBOOK = {
    "StartAt": "Diagnose",
    "States": {
        "Diagnose": {"Type": "Task", "Resource": "fn:diagnose", "Next": "Done"},
        "Done": {"Type": "Succeed"},
    },
}


def small_catalog() -> Catalog:
    functions = (
        w.Function(
            name="authorize",
            service="security",
            handler="security/authorize",
            trigger=w.Authorizer(),
            tables={"security": "read"},
            cognito=True,
        ),
        w.Function(
            name="get-thing",
            service="monitoring",
            handler="monitoring/get_thing",
            trigger=w.HttpRoute("GET", "/v1/things/{thing_id}", "things:read"),
            tables={"monitoring": "read"},
        ),
        w.Function(
            name="health",
            service="monitoring",
            handler="monitoring/health",
            trigger=w.HttpRoute("GET", "/v1/health", "public"),
        ),
        w.Function(
            name="put-report",
            service="monitoring",
            handler="monitoring/put_report",
            trigger=w.HttpRoute("POST", "/v1/reports", "reports:write"),
            buckets={"reports": "write"},
            queues=("work",),
            topics=("notices",),
            state_machines=("runbook",),
            idempotent=True,
        ),
        w.Function(
            name="consume-work",
            service="monitoring",
            handler="monitoring/consume_work",
            trigger=w.QueueTrigger("work", batch_size=5, max_batching_window_s=2),
            tables={"monitoring": "write"},
            timeout_s=20,
        ),
        w.Function(
            name="on-aws-alarm",
            service="monitoring",
            handler="monitoring/on_aws_alarm",
            trigger=w.EventRule(
                {"source": ["aws.cloudwatch"], "detail-type": ["CloudWatch Alarm State Change"]},
                bus=w.DEFAULT_BUS,
            ),
            tables={"monitoring": "write"},
            buses=(w.PLATFORM_BUS,),
        ),
        w.Function(
            name="on-ticket",
            service="monitoring",
            handler="monitoring/on_ticket",
            trigger=w.EventRule(
                {"source": ["omp.itsm"], "detail": {"priority": [{"numeric": [">=", 3]}]}}
            ),
            tables={"monitoring": "read"},
        ),
        w.Function(
            name="sweep",
            service="monitoring",
            handler="monitoring/sweep",
            trigger=w.Schedule("rate(5 minutes)"),
            tables={"monitoring": "write"},
        ),
        w.Function(
            name="on-notice",
            service="monitoring",
            handler="monitoring/on_notice",
            trigger=w.TopicTrigger("notices"),
        ),
        w.Function(
            name="diagnose",
            service="monitoring",
            # a stack of its own: the only in-VPC function, so only that stack needs the network
            stack="runbooks",
            handler="monitoring/diagnose",
            trigger=w.StateMachineTask("runbook"),
            graph=True,
            search=True,
            tables={"monitoring": "read"},
        ),
    )
    return Catalog(
        tables=(
            w.Table("monitoring", indexes=("gsi1",)),
            w.Table("security", indexes=("gsi1",)),
            w.Table("idempotency", keys=("id",), ttl_attribute="expiration"),
        ),
        queues=(w.Queue("work", visibility_timeout_s=60, max_receive_count=3),),
        buses=(w.Bus(w.PLATFORM_BUS),),
        topics=(w.Topic("platform-alarms"), w.Topic("notices")),
        buckets=(w.Bucket("reports"),),
        state_machines=(w.StateMachine("runbook", RUNBOOK),),
        functions=functions,
        queue_rules=(("work", w.PLATFORM_BUS, {"source": [{"prefix": "omp."}]}),),
    )


def with_function(catalog: Catalog, name: str, **changes: object) -> Catalog:
    """The catalog with one function's fields replaced (to build deliberately wrong catalogs)."""
    fns = tuple(
        dataclasses.replace(fn, **changes) if fn.name == name else fn  # type: ignore[arg-type]
        for fn in catalog.functions
    )
    return dataclasses.replace(catalog, functions=fns)
