"""The OTLP ingest route answers in OTLP's own encoding and loads no pydantic: not at import and
not in its first request (the adapters it builds included), in a fresh process under moto. The
cold-start benchmark counts the import; this test keeps the first call honest too."""

from __future__ import annotations

import subprocess
import sys

from tests.support import ROOT

_CODE = r"""
import json, re, sys, time
import boto3
from moto import mock_aws
from tests import support
with mock_aws():
    support.create_tables(boto3.client("dynamodb"))
    support.create_queues_and_buckets(boto3.client("sqs"), boto3.client("s3"))
    event = json.load(open("events/ingest-otlp-metrics.json"))
    now_ns = str(time.time_ns() - 60_000_000_000)  # the sample's 2018 points would be too old
    event["body"] = re.sub(r'([tT]imeUnixNano": )"[0-9]+"', r'\1"' + now_ns + '"', event["body"])
    answer = support.invoke("ingest-otlp-metrics", event)
    assert answer["statusCode"] == 200 and "partialSuccess" not in answer["body"], answer
    assert support.drain_queue("metric-points"), "nothing was queued for scoring"
    print("pydantic" in sys.modules)
"""


def test_an_otlp_request_never_loads_pydantic():
    env = {
        "PYTHONPATH": f"{ROOT}:{ROOT}/layers/core/python",
        "PATH": "/usr/bin:/bin",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    out = subprocess.run(
        [sys.executable, "-c", _CODE], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "False"
