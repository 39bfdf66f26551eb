"""Alert webhooks under moto: validated, queued (or offloaded to S3), 202; bad input 4xx."""

import json

import boto3
import pytest

from omp.domain.ingest import IngestEnvelope
from tests import support
from tests.support import ROOT, call_api

SOURCES = ROOT / "events" / "sources"


def _sample(name):
    return json.loads((SOURCES / name).read_text())


def _queued():
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=support.PREFIX + "alert-ingest")["QueueUrl"]
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [IngestEnvelope.from_json(m["Body"]) for m in got]


def _post(name, body, roles="integration", scope=None, **kwargs):
    event_kwargs = {"body": body, "principal": "key:test", "roles": roles, **kwargs}
    if scope:
        return _post_scoped(name, scope, event_kwargs)
    return call_api(name, **event_kwargs)


def _post_scoped(name, scope, kwargs):
    event = support.api_event(name, **kwargs)
    event["requestContext"]["authorizer"]["source"] = scope
    result = support.invoke(name, event)
    return result["statusCode"], json.loads(result["body"]), result.get("headers") or {}


@pytest.mark.parametrize(
    ("source", "sample", "alerts"),
    [
        ("alertmanager", "alertmanager_webhook_v4.json", None),
        ("grafana", "grafana_webhook.json", None),
        ("cloudwatch", "cloudwatch_eventbridge_single_metric.json", 1),
        ("cloudwatch", "cloudwatch_sns_http_notification.json", 1),
        ("generic", "generic_alerts.json", None),
    ],
)
def test_a_known_source_is_queued_with_202(platform, source, sample, alerts):
    body = _sample(sample)
    status, answer, _ = _post("ingest-alerts", body, path_params={"source": source})
    assert status == 202, answer
    assert answer["source"] == source and answer["message_id"] and answer["alerts"] >= 1
    if alerts is not None:
        assert answer["alerts"] == alerts
    (envelope,) = _queued()
    assert (envelope.source, envelope.principal, envelope.payload) == (source, "key:test", body)


def test_the_format_is_detected_on_the_generic_route(platform):
    status, answer, _ = _post("ingest-any", _sample("grafana_webhook.json"))
    assert status == 202 and answer["source"] == "grafana"
    assert _queued()[0].source == "grafana"


def test_pagerduty_gets_its_dedup_key_back(platform):
    status, answer, _ = _post(
        "ingest-alerts",
        _sample("pagerduty_trigger_without_dedup_key.json"),
        path_params={"source": "pagerduty"},
    )
    assert status == 202 and answer["dedup_key"].startswith("omp-")
    again = _post(
        "ingest-alerts",
        _sample("pagerduty_trigger_without_dedup_key.json"),
        path_params={"source": "pagerduty"},
    )[1]
    assert again["dedup_key"] == answer["dedup_key"]  # a replay names the same alert


def test_large_payloads_are_offloaded_to_s3(platform):
    body = _sample("generic_alerts.json")
    body["alerts"][0]["message"] = "x" * 300_000
    status, _, _ = _post("ingest-alerts", body, path_params={"source": "generic"})
    assert status == 202
    (envelope,) = _queued()
    assert envelope.payload is None and envelope.payload_s3["bucket"] == support.PREFIX + "ingest"
    stored = boto3.client("s3").get_object(
        **{"Bucket": envelope.payload_s3["bucket"], "Key": envelope.payload_s3["key"]}
    )
    assert json.loads(stored["Body"].read()) == body


@pytest.mark.parametrize(
    ("name", "body", "path", "extra", "status", "code"),
    [
        ("ingest-alerts", "{not json", {"source": "alertmanager"}, {}, 400, "MALFORMED_JSON"),
        (
            "ingest-alerts",
            {"alerts": "nope"},
            {"source": "alertmanager"},
            {},
            400,
            "UNPARSEABLE_PAYLOAD",
        ),
        ("ingest-alerts", [1, 2], {"source": "generic"}, {}, 400, "UNPARSEABLE_PAYLOAD"),
        ("ingest-alerts", {"a": 1}, {"source": "nagios"}, {}, 404, "UNKNOWN_SOURCE"),
        ("ingest-any", {"hello": "world"}, None, {}, 400, "UNPARSEABLE_PAYLOAD"),
        (
            "ingest-alerts",
            {"a": 1},
            {"source": "alertmanager"},
            {"roles": "viewer"},
            403,
            "FORBIDDEN",
        ),
        (
            "ingest-alerts",
            {"alerts": []},
            {"source": "generic"},
            {"scope": "grafana"},
            403,
            "SOURCE_NOT_ALLOWED",
        ),
        (
            "ingest-alerts",
            {"a": "x" * 1_100_000},
            {"source": "generic"},
            {},
            413,
            "PAYLOAD_TOO_LARGE",
        ),
    ],
)
def test_bad_input_is_refused_and_nothing_is_queued(
    platform, name, body, path, extra, status, code
):
    kwargs = {"path_params": path} if path else {}
    got, answer, _ = _post(name, body, **kwargs, **extra)
    assert (got, answer["error"]["code"]) == (status, code), answer
    assert _queued() == []


def test_cloudwatch_state_changes_from_eventbridge_are_queued(platform):
    event = _sample("cloudwatch_eventbridge_single_metric.json")
    result = support.invoke("receive-cloudwatch-alarm", event)
    assert result["alerts"] == 1
    (envelope,) = _queued()
    assert (envelope.source, envelope.principal, envelope.payload) == (
        "cloudwatch",
        "aws:eventbridge",
        event,
    )


def test_a_configuration_change_is_not_an_alert(platform):
    from omp.domain.errors import BadRequest

    with pytest.raises(BadRequest):
        support.invoke(
            "receive-cloudwatch-alarm",
            _sample("cloudwatch_eventbridge_configuration_change_not_a_state_change.json"),
        )
    assert _queued() == []
