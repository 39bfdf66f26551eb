"""Format detection over every sample, and robustness: random JSON never raises anything else."""

import contextlib
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omp.domain.signals import Signal, UnparseablePayload
from omp.sources import alertmanager, cloudwatch, generic, grafana, pagerduty
from omp.sources.detect import SOURCES, detect, normalise_any

SAMPLES = Path(__file__).resolve().parents[2] / "events" / "sources"
NEGATIVE = {"cloudwatch_eventbridge_configuration_change_not_a_state_change.json"}
# Alert payloads only: the folder also holds other formats' samples (OTLP metrics).
ALL = sorted(
    p.name
    for p in SAMPLES.glob("*.json")
    if p.name not in NEGATIVE and p.name.split("_", 1)[0] in SOURCES
)


def load(name):
    return json.loads((SAMPLES / name).read_text())


def test_every_sample_is_covered():
    assert len(ALL) == 17


@pytest.mark.parametrize("name", ALL)
def test_detect_recognises_every_sample(name):
    expected = name.split("_", 1)[0]
    assert detect(load(name)) == expected
    source, signals = normalise_any(load(name))
    assert source == expected
    assert signals and all(isinstance(s, Signal) and s.source == expected for s in signals)


@pytest.mark.parametrize("name", ALL)
def test_replaying_any_sample_gives_the_same_fingerprints(name):
    first = [s.fingerprint for s in normalise_any(load(name))[1]]
    second = [s.fingerprint for s in normalise_any(load(name))[1]]
    assert first == second
    assert len(set(first)) == len(first)


def test_cloudwatch_payloads_posted_as_a_body_are_detected():
    notification = load("cloudwatch_sns_http_notification.json")
    assert detect(json.loads(notification["Message"])) == "cloudwatch"  # the bare message
    assert detect(load("cloudwatch_eventbridge_composite.json")) == "cloudwatch"


def test_the_configuration_change_sample_is_detected_but_refused():
    payload = load("cloudwatch_eventbridge_configuration_change_not_a_state_change.json")
    assert detect(payload) == "cloudwatch"
    with pytest.raises(UnparseablePayload, match="detail-type"):
        normalise_any(payload)


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"hello": "world"},
        {"Records": [{"EventSource": "aws:sns", "Sns": {"Message": "Hello from SNS!"}}]},
        {"Type": "Notification", "Message": '{"message": "hello world"}'},
        {
            "source": "aws.ec2",
            "detail-type": "EC2 Instance State-change Notification",
            "detail": {},
        },
        {"name": "lonely name without status or severity"},
        {"alerts": "not a list"},
        [],
        "text",
        42,
        None,
    ],
)
def test_unrecognised_payloads(payload):
    with pytest.raises(UnparseablePayload, match="unrecognised format"):
        detect(payload)
    with pytest.raises(UnparseablePayload):
        normalise_any(payload)


def test_signatures():
    assert detect({"event_action": "resolve", "routing_key": "k", "dedup_key": "d"}) == "pagerduty"
    assert detect({"version": "4", "alerts": []}) == "alertmanager"
    assert detect({"groupKey": "g", "alerts": []}) == "alertmanager"
    assert detect({"orgId": 1, "alerts": []}) == "grafana"
    assert detect({"alerts": [{"labels": {}, "valueString": "x"}]}) == "grafana"
    assert detect({"alerts": [{"name": "x"}]}) == "generic"
    assert detect({"name": "x", "status": "firing"}) == "generic"
    assert detect({"source": "aws.cloudwatch", "alarmData": {}}) == "cloudwatch"


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=30,
)
KEYS = st.sampled_from(
    [
        "alerts",
        "labels",
        "annotations",
        "status",
        "startsAt",
        "endsAt",
        "fingerprint",
        "version",
        "groupKey",
        "truncatedAlerts",
        "orgId",
        "values",
        "event_action",
        "routing_key",
        "dedup_key",
        "payload",
        "summary",
        "severity",
        "source",
        "detail-type",
        "detail",
        "resources",
        "state",
        "value",
        "timestamp",
        "configuration",
        "metrics",
        "alarmRule",
        "alarmName",
        "alarmData",
        "alarmArn",
        "Records",
        "Sns",
        "Message",
        "Type",
        "AlarmName",
        "AlarmArn",
        "NewStateValue",
        "StateChangeTime",
        "Trigger",
        "Dimensions",
        "name",
        "resource",
        "starts_at",
    ]
)
# JSON objects built from the keys the normalisers look at, so the search reaches deep paths
SHAPED = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=12)
    | st.sampled_from(
        [
            "firing",
            "resolved",
            "ALARM",
            "OK",
            "trigger",
            "resolve",
            "aws.cloudwatch",
            "CloudWatch Alarm State Change",
            "2024-01-01T00:00:00Z",
            "4",
        ]
    ),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=6),
    max_leaves=40,
)
NORMALISERS = [
    cloudwatch.normalise,
    alertmanager.normalise,
    grafana.normalise,
    pagerduty.normalise,
    generic.normalise,
]


def _only_unparseable(payload):
    for normalise in [*NORMALISERS, lambda p: normalise_any(p)[1]]:
        try:
            signals = normalise(payload)
        except UnparseablePayload as error:
            assert str(error)
        else:
            assert all(isinstance(s, Signal) for s in signals)
    with contextlib.suppress(UnparseablePayload):
        detect(payload)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(JSON)
def test_random_json_raises_nothing_but_unparseable(payload):
    _only_unparseable(payload)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(SHAPED)
def test_shaped_random_json_raises_nothing_but_unparseable(payload):
    _only_unparseable(payload)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(ALL), st.data())
def test_mutated_samples_raise_nothing_but_unparseable(name, data):
    payload = load(name)
    node = payload
    # walk a random path into the sample and replace what is there with random JSON
    for _ in range(data.draw(st.integers(0, 4))):
        if isinstance(node, dict) and node:
            key = data.draw(st.sampled_from(sorted(node)))
            if not isinstance(node[key], dict | list) or data.draw(st.booleans()):
                node[key] = data.draw(JSON)
                break
            node = node[key]
        elif isinstance(node, list) and node:
            index = data.draw(st.integers(0, len(node) - 1))
            if not isinstance(node[index], dict | list) or data.draw(st.booleans()):
                node[index] = data.draw(JSON)
                break
            node = node[index]
        else:
            break
    _only_unparseable(payload)
