"""NetBox import: the demo dumpdata file through the import job, in process under moto.

    python -m bench.cmdb_netbox --file ../shared/data/cmdb/netbox-demo-v3.6.json [--graph PATH]
    python -m bench.cmdb_netbox --file ../shared/data/cmdb/netbox-demo-v3.6.json --local

`--local`: through `python -m infra.local` instead (a subprocess on a free port, as bench.storm
starts it): POST the file over HTTP, poll `GET /v1/cmdb/imports/{id}` every 0.25 s until the job
ends; `seconds` is from the POST to the poll that sees the end (twice: create, then re-run).
The runtime also runs `sync-ci-graph` and `index-ci` (and the audit log) for the import's
events meanwhile, as it would in AWS: `settled_seconds` is from the POST until their queues
(the delivery queues and `audit-events`) are empty, read through the runtime's moto endpoint.

Runs `POST /v1/cmdb/imports/netbox` and the `run-cmdb-import` consumer the way the tests do
(handlers invoked in this process, DynamoDB/S3/SQS/EventBridge in moto's in-process mock,
the graph in gremlite), twice: the first run creates, the second must change nothing. Not the
local runtime's HTTP path (issue 5's target says "through the local runtime"): moto server
adds an HTTP round trip per AWS call, so expect the local runtime to be slower than this. Like
the local runtime, it installs infra/local/dynamodb.py (without it moto copies whole tables in
every transaction and the import slows quadratically: more than 12 minutes here).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import report, table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cmdb_netbox")
    parser.add_argument("--file", type=Path, required=True)
    parser.add_argument("--graph", type=Path, default=None, help="gremlite file (temp default)")
    parser.add_argument("--local", action="store_true", help="through python -m infra.local")
    parser.add_argument("--log", type=Path, default=None, help="--local: keep the runtime's log")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    if args.local:
        return _local(args.file, started, args.log)

    import os

    for key, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        os.environ.setdefault(key, value)
    import boto3
    from moto import mock_aws

    from infra.local import dynamodb
    from omp.adapters import aws
    from omp.adapters.gremlin_graph import GremlinGraph
    from omp.runtime import container
    from tests import support

    dynamodb.install()  # as the local runtime does: moto transactions back up items, not tables
    raw = args.file.read_bytes()
    graph_path = args.graph or Path(tempfile.mkdtemp()) / "graph.sqlite"
    graph_path.unlink(missing_ok=True)
    runs: list[dict[str, Any]] = []
    with mock_aws(), container.override(graph=GremlinGraph(path=str(graph_path))):
        aws.reset_clients()
        support.create_tables(boto3.client("dynamodb"))
        boto3.client("events").create_event_bus(Name=support.PREFIX + "platform")
        support.create_queues_and_buckets(boto3.client("sqs"), boto3.client("s3"))
        sqs = boto3.client("sqs")
        url = sqs.get_queue_url(QueueName=support.PREFIX + "cmdb-imports")["QueueUrl"]
        for _ in range(2):
            t0 = time.perf_counter()
            status, body, _ = support.call_api("start-netbox-import", body=raw.decode())
            assert status == 202, body
            msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"]
            records = [{"messageId": m["MessageId"], "body": m["Body"]} for m in msgs]
            assert support.invoke("run-cmdb-import", {"Records": records}) == {
                "batchItemFailures": []
            }
            _, job, _ = support.call_api(
                "get-import-job", path_params={"job_id": body["job"]["id"]}
            )
            runs.append({"seconds": round(time.perf_counter() - t0, 1), **job["job"]})
    result = {"file": str(args.file), "bytes": len(raw), "runs": runs}
    rows = [
        [i + 1, r["status"], r["seconds"], json.dumps(r["counts"], sort_keys=True)]
        for i, r in enumerate(runs)
    ]
    summary = table(["run", "status", "seconds", "counts"], rows)
    return report("cmdb_netbox", result, summary, started)


def _local(path: Path, started: float, log: Path | None = None) -> int:
    import httpx

    from bench.storm import Queues, runtime

    raw = path.read_bytes()
    runs: list[dict[str, Any]] = []
    with runtime(log) as rt:
        queues = Queues(rt.moto_url)
        consumers = ["deliver-sync-ci-graph", "deliver-index-ci", "audit-events"]
        headers = {"Authorization": f"Bearer {rt.token}", "Content-Type": "application/json"}
        with httpx.Client(base_url=rt.base_url, headers=headers, timeout=120) as c:
            for _ in range(2):
                t0 = time.perf_counter()
                r = c.post("/v1/cmdb/imports/netbox", content=raw)
                assert r.status_code == 202, r.text
                job_id = r.json()["job"]["id"]
                while True:
                    job = c.get(f"/v1/cmdb/imports/{job_id}").json()["job"]
                    if job["status"] in ("succeeded", "failed"):
                        break
                    if time.perf_counter() - t0 > 900:
                        raise RuntimeError(f"job {job_id} still {job['status']} after 900 s")
                    time.sleep(0.25)
                seconds = round(time.perf_counter() - t0, 1)
                while any(sum(queues.depth(q)) for q in consumers):
                    if time.perf_counter() - t0 > 1800:
                        raise RuntimeError("the graph/search/audit consumers did not settle")
                    time.sleep(0.25)
                settled = round(time.perf_counter() - t0, 1)
                runs.append({"seconds": seconds, "settled_seconds": settled, **job})
    result = {"file": str(path), "bytes": len(raw), "local_runtime": True, "runs": runs}
    rows = [
        [
            i + 1,
            r["status"],
            r["seconds"],
            r["settled_seconds"],
            json.dumps(r["counts"], sort_keys=True),
        ]
        for i, r in enumerate(runs)
    ]
    summary = table(["run (local runtime)", "status", "seconds", "settled seconds", "counts"], rows)
    return report("cmdb_netbox_local", result, summary, started)


if __name__ == "__main__":
    raise SystemExit(main())
