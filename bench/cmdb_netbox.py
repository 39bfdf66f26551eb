"""NetBox import: the demo dumpdata file through the import job, in process under moto.

    python -m bench.cmdb_netbox --file ../shared/data/cmdb/netbox-demo-v3.6.json [--graph PATH]

Runs `POST /v1/cmdb/imports/netbox` and the `run-cmdb-import` consumer the way the tests do
(handlers invoked in this process, DynamoDB/S3/SQS/EventBridge in moto's in-process mock,
the graph in gremlite), twice: the first run creates, the second must change nothing. Not the
local runtime's HTTP path (issue 5's target says "through the local runtime"): moto server
adds an HTTP round trip per AWS call, so expect the local runtime to be slower than this.
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
    args = parser.parse_args(argv)
    started = time.perf_counter()

    import os

    for key, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        os.environ.setdefault(key, value)
    import boto3
    from moto import mock_aws

    from omp.adapters import aws
    from omp.adapters.gremlin_graph import GremlinGraph
    from omp.runtime import container
    from tests import support

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


if __name__ == "__main__":
    raise SystemExit(main())
