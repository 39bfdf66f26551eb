"""AWS API calls per Alarm operation, counted (not timed) under moto.

Every botocore client the handlers create gets a `before-call` handler on its event system
(`botocore.session.Session.create_client` is wrapped for the duration), so each API call a handler
makes is recorded as `service:Operation` with the table it touches; `after-call` records whether
AWS answered with an error (e.g. a failed condition). Nothing is timed: moto answers in-process.

Resources are built as tests/integration/conftest.py builds them: moto `mock_aws`, the catalog's
tables via `tests.support.create_tables`, the platform bus `omp-test-platform` with a rule to a
capture queue. Handlers are invoked through `tests.support.call_api` with their catalog
environment and a REST API (v1) proxy event, exactly as the integration tests do.

Targets (calls on the idempotency table are counted but set aside, see below):
- create alarm: 1 DynamoDB write + 1 events:PutEvents
- get alarm: 1 DynamoDB read
- list alarms: reported, no target
- acknowledge / resolve: 1 conditional dynamodb:UpdateItem + 1 events:PutEvents
- acknowledge / resolve of an alarm from a source, and the timeline read: reported, no target

Write operations honour Idempotency-Key (powertools idempotency on its own table); each is
measured without the header and with it (first request, then a replay of the same request).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from bench.common import report, table

for _k, _v in {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
}.items():
    os.environ[_k] = _v  # never reach a real account, whatever the shell has
os.environ.pop("AWS_PROFILE", None)
os.environ.pop("AWS_ENDPOINT_URL", None)

BODY = {
    "name": "cpu high",
    "severity": "major",
    "message": "95%",
    "source": "cloudwatch",
    "resource": "i-0abc",
    "labels": {"team": "sre"},
    "triggered_at": "2026-03-10T11:59:00Z",
}


@dataclass
class Call:
    service: str
    operation: str
    table: str | None
    conditional: bool
    error: str | None = None

    @property
    def key(self) -> str:
        return f"{self.service}:{self.operation}"


@dataclass
class Recorder:
    calls: list[Call] = field(default_factory=list)
    active: bool = False

    def before_call(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        if not self.active:
            return
        body: Any = params.get("body") or {}
        if isinstance(body, bytes | str):  # JSON protocols (DynamoDB, EventBridge): serialized
            try:
                body = json.loads(body or b"{}")
            except ValueError:
                body = {}
        table_name = body.get("TableName") if isinstance(body, dict) else None
        if table_name is None and isinstance(body, dict) and "TransactItems" in body:
            names = {next(iter(item.values())).get("TableName") for item in body["TransactItems"]}
            table_name = ",".join(sorted(n for n in names if n))
        conditional = isinstance(body, dict) and "ConditionExpression" in body
        service = model.service_model.endpoint_prefix
        self.calls.append(Call(service, model.name, table_name, conditional))

    def after_call(self, http_response: Any, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        if not self.active or not self.calls:
            return
        error = (parsed or {}).get("Error", {}).get("Code")
        if error:
            self.calls[-1].error = error

    @contextlib.contextmanager
    def window(self) -> Iterator[list[Call]]:
        start = len(self.calls)
        out: list[Call] = []
        self.active = True
        try:
            yield out
        finally:
            self.active = False
            out.extend(self.calls[start:])


@contextlib.contextmanager
def recording() -> Iterator[Recorder]:
    """Attach the recorder to every botocore client created inside the block."""
    import botocore.session

    recorder = Recorder()
    original = botocore.session.Session.create_client

    def create_client(self: Any, *args: Any, **kwargs: Any) -> Any:
        client = original(self, *args, **kwargs)
        client.meta.events.register("before-call.*.*", recorder.before_call)
        client.meta.events.register("after-call.*.*", recorder.after_call)
        return client

    botocore.session.Session.create_client = create_client  # type: ignore[method-assign]
    try:
        yield recorder
    finally:
        botocore.session.Session.create_client = original  # type: ignore[method-assign]


def _describe(calls: list[Call], idempotency_table: str) -> dict[str, Any]:
    main = [c for c in calls if c.table != idempotency_table]
    idem = [c for c in calls if c.table == idempotency_table]

    def label(c: Call) -> str:
        extra = " (conditional)" if c.conditional else ""
        err = f" -> {c.error}" if c.error else ""
        return f"{c.key}{extra}{err}"

    return {
        "total": len(calls),
        "calls": [label(c) + (f" [{c.table}]" if c.table else "") for c in calls],
        "by_operation": dict(Counter(label(c) for c in main)),
        "idempotency_by_operation": dict(Counter(label(c) for c in idem)),
        "excluding_idempotency": len(main),
        "idempotency": len(idem),
    }


_DDB_WRITES = {"PutItem", "UpdateItem", "TransactWriteItems", "BatchWriteItem"}
_DDB_READS = {"GetItem", "Query", "BatchGetItem", "TransactGetItems", "Scan"}


def _check(operation: str, calls: list[Call], idempotency_table: str) -> tuple[str, str]:
    """(target, PASS/FAIL/n/a) for the calls an operation made, idempotency record aside."""
    main = [c for c in calls if c.table != idempotency_table]
    ddb = [c for c in main if c.service == "dynamodb"]
    puts = [c for c in main if c.key == "events:PutEvents"]
    others = [c for c in main if c.service not in ("dynamodb",) and c.key != "events:PutEvents"]
    if operation == "create":
        writes = [c for c in ddb if c.operation in _DDB_WRITES]
        ok = len(writes) == 1 and len(ddb) == 1 and len(puts) == 1 and not others
        return "1 DynamoDB write + 1 PutEvents", "PASS" if ok else "FAIL"
    if operation == "get":
        ok = len(ddb) == 1 and ddb[0].operation in _DDB_READS and not puts and not others
        return "1 DynamoDB read", "PASS" if ok else "FAIL"
    if operation in ("ack", "resolve"):
        ok = (
            len(ddb) == 1
            and ddb[0].operation == "UpdateItem"
            and ddb[0].conditional
            and len(puts) == 1
            and not others
        )
        return "1 conditional UpdateItem + 1 PutEvents", "PASS" if ok else "FAIL"
    return "reported (no target)", "n/a"


def run() -> dict[str, Any]:
    import boto3
    from moto import mock_aws

    from omp.adapters import aws
    from omp.domain.ingest import IngestEnvelope
    from tests import support
    from tests.support import call_api

    idem_table = support.PREFIX + "idempotency"
    rows: list[dict[str, Any]] = []

    def record(
        operation: str, scenario: str, calls: list[Call], status: int, check: bool = True
    ) -> None:
        target, verdict = (
            _check(operation, calls, idem_table) if check else ("reported (no target)", "n/a")
        )
        rows.append(
            {
                "operation": operation,
                "scenario": scenario,
                "http_status": status,
                "target": target,
                "verdict": verdict,
                **_describe(calls, idem_table),
            }
        )

    with recording() as rec, mock_aws():
        aws.reset_clients()
        support.create_tables(boto3.client("dynamodb"))
        events, sqs = boto3.client("events"), boto3.client("sqs")
        bus = support.PREFIX + "platform"
        events.create_event_bus(Name=bus)
        url = sqs.create_queue(QueueName="captured-events")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        events.put_rule(
            Name="all", EventBusName=bus, EventPattern='{"source": [{"prefix": "omp."}]}'
        )
        events.put_targets(Rule="all", EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])

        def api(name: str, **kwargs: Any) -> tuple[list[Call], int, dict[str, Any], dict[str, Any]]:
            with rec.window() as calls:
                status, body, headers = call_api(name, **kwargs)
            return calls, status, body, headers

        def expect(status: int, wanted: int, what: str, body: Any) -> None:
            if status != wanted:
                raise RuntimeError(f"{what}: HTTP {status} (expected {wanted}): {body}")

        # create
        calls, status, body, _ = api("create-alarm", body=BODY)
        expect(status, 201, "create", body)
        record("create", "no Idempotency-Key", calls, status)
        alarm_id = body["alarm"]["id"]

        key = {"Idempotency-Key": "bench-create-1"}
        calls, status, body, _ = api(
            "create-alarm", body={**BODY, "name": "disk full"}, headers=key
        )
        expect(status, 201, "create with key", body)
        record("create", "Idempotency-Key, first request", calls, status)
        calls, status, body, headers = api(
            "create-alarm", body={**BODY, "name": "disk full"}, headers=key
        )
        expect(status, 201, "create replay", body)
        if headers.get("Idempotent-Replayed") != "true":
            raise RuntimeError("the replayed create was not answered from the idempotency record")
        record("create", "Idempotency-Key, replay", calls, status, check=False)

        # get
        calls, status, body, _ = api("get-alarm", path_params={"alarm_id": alarm_id})
        expect(status, 200, "get", body)
        record("get", "existing alarm", calls, status)
        calls, status, body, _ = api(
            "get-alarm", path_params={"alarm_id": "alm_01JNW0000000000000000000ZZ"}
        )
        record("get", "missing alarm (404)", calls, status, check=False)

        # list: a few more alarms over a few days, then the default and a windowed query
        for day in range(1, 6):
            _c, s, b, _h = api(
                "create-alarm", body={**BODY, "triggered_at": f"2026-03-0{day}T10:00:00Z"}
            )
            expect(s, 201, "create for list", b)
        for _ in range(3):  # triggered now: inside the default window
            _c, s, b, _h = api(
                "create-alarm", body={k: v for k, v in BODY.items() if k != "triggered_at"}
            )
            expect(s, 201, "create for list", b)
        calls, status, body, _ = api("list-alarms")
        expect(status, 200, "list", body)
        record(
            "list",
            f"no filters (default window: 30 days to now), {len(body['alarms'])} returned",
            calls,
            status,
            check=False,
        )
        window = {"from": "2026-03-01T00:00:00Z", "to": "2026-03-11T00:00:00Z"}
        calls, status, body, _ = api("list-alarms", query=window)
        expect(status, 200, "list window", body)
        record("list", f"10-day window, {len(body['alarms'])} returned", calls, status, check=False)
        calls, status, body, _ = api("list-alarms", query={**window, "limit": "2"})
        expect(status, 200, "list limit", body)
        record(
            "list",
            f"10-day window, limit=2, {len(body['alarms'])} returned",
            calls,
            status,
            check=False,
        )
        calls, status, body, _ = api(
            "list-alarms", query={**window, "resource": "i-0abc", "status": "open"}
        )
        expect(status, 200, "list filtered", body)
        record(
            "list",
            f"10-day window, resource+status filters, {len(body['alarms'])} returned",
            calls,
            status,
            check=False,
        )
        calls, status, body, _ = api("list-alarms", query={**window, "status": "open"})
        expect(status, 200, "list by status", body)
        record(
            "list",
            f"10-day window, status filter, {len(body['alarms'])} returned",
            calls,
            status,
            check=False,
        )

        # ack and resolve, without and with Idempotency-Key
        for op, fn in (("ack", "acknowledge-alarm"), ("resolve", "resolve-alarm")):
            _c, s, b, _h = api("create-alarm", body=BODY)
            expect(s, 201, f"create for {op}", b)
            target_id = b["alarm"]["id"]
            calls, status, body, _ = api(
                fn, path_params={"alarm_id": target_id}, body={"comment": "bench"}
            )
            expect(status, 200, op, body)
            record(op, "no Idempotency-Key", calls, status)

            _c, s, b, _h = api("create-alarm", body=BODY)
            expect(s, 201, f"create for {op}", b)
            target_id = b["alarm"]["id"]
            key = {"Idempotency-Key": f"bench-{op}-1"}
            calls, status, body, _ = api(
                fn, path_params={"alarm_id": target_id}, body={"comment": "b"}, headers=key
            )
            expect(status, 200, f"{op} with key", body)
            record(op, "Idempotency-Key, first request", calls, status)
            calls, status, body, _ = api(
                fn, path_params={"alarm_id": target_id}, body={"comment": "b"}, headers=key
            )
            expect(status, 200, f"{op} replay", body)
            record(op, "Idempotency-Key, replay", calls, status, check=False)

        # a stale version: the conditional write fails, nothing is published
        _c, s, b, _h = api("create-alarm", body=BODY)
        calls, status, body, _ = api(
            "acknowledge-alarm", path_params={"alarm_id": b["alarm"]["id"]}, body={"version": 7}
        )
        record("ack", f"stale version ({status})", calls, status, check=False)

        # An alarm from a source (the alert pipeline made it): its dedup state follows the
        # person, read then written with the entry's occurrence count in one transaction.
        envelope = IngestEnvelope(
            "generic",
            time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),  # inside list's default window
            "key:bench",
            "req-bench",
            payload={
                "alerts": [
                    {
                        "name": "disk",
                        "status": "firing",
                        "severity": "major",
                        "resource": "i-0def",
                        "fingerprint": "bench-disk",
                    }
                ]
            },
        )
        record_in = {"messageId": "bench-1", "body": envelope.to_json()}
        answer = support.invoke("process-alerts", {"Records": [record_in]})
        if answer != {"batchItemFailures": []}:
            raise RuntimeError(f"process-alerts: {answer}")
        _c, s, b, _h = api("list-alarms", query={"resource": "i-0def"})
        expect(s, 200, "list the source's alarm", b)
        source_alarm = b["alarms"][0]["id"]
        for op, fn in (("ack", "acknowledge-alarm"), ("resolve", "resolve-alarm")):
            calls, status, body, _ = api(fn, path_params={"alarm_id": source_alarm})
            expect(status, 200, f"{op} of a source's alarm", body)
            record(op, "alarm from a source (dedup state follows)", calls, status, check=False)

        # The timeline read: the alarm item (people's entries) and one Query of the T# items.
        calls, status, body, _ = api("get-alarm-timeline", path_params={"alarm_id": source_alarm})
        expect(status, 200, "timeline", body)
        kinds = ", ".join(e["kind"] for e in body["timeline"])
        record("timeline", f"alarm from a source ({kinds})", calls, status, check=False)
    aws.reset_clients()

    checked = [r for r in rows if r["verdict"] != "n/a"]
    return {
        "method": "botocore before-call/after-call handlers on every client, under moto mock_aws",
        "idempotency_table": idem_table,
        "operations": rows,
        "all_targets_met": all(r["verdict"] == "PASS" for r in checked),
        "over_target": [
            f"{r['operation']} ({r['scenario']})" for r in checked if r["verdict"] != "PASS"
        ],
    }


def summary(result: dict[str, Any]) -> str:
    def fmt(ops: dict[str, int]) -> str:
        return ", ".join(f"{n}x {k}" if n > 1 else k for k, n in ops.items()) or "-"

    rows = [
        (
            r["operation"],
            r["scenario"],
            r["http_status"],
            fmt(r["by_operation"]),
            fmt(r["idempotency_by_operation"]),
            r["total"],
            r["target"],
            r["verdict"],
        )
        for r in result["operations"]
    ]
    return "\n".join(
        [
            "### AWS calls per Alarm operation (moto)",
            "",
            table(
                [
                    "operation",
                    "scenario",
                    "HTTP",
                    "calls (idempotency aside)",
                    "idempotency-table calls",
                    "total",
                    "target",
                    "verdict",
                ],
                rows,
            ),
        ]
    )


def main() -> int:
    started = time.perf_counter()
    result = run()
    return report("aws_calls", result, summary(result), started)


if __name__ == "__main__":
    sys.exit(main())
