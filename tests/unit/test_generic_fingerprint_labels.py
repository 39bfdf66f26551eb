"""Generic fingerprints from configured label sets: precedence, order independence, replay."""

from datetime import UTC, datetime

import pytest

from omp import sources
from omp.domain.ingest import IngestEnvelope
from omp.domain.signals import UnparseablePayload
from omp.sources import generic

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def alert(pod, **extra):
    return {"name": "Lag", "resource": f"host-{pod}", "labels": {"svc": "a", "pod": pod}, **extra}


def fps(payload, key=None):
    return [s.fingerprint for s in sources.normalise("generic", payload, AT, key)]


def test_precedence_alert_then_body_then_key_then_default():
    two = {"alerts": [alert("1"), alert("2")]}
    assert len(set(fps(two))) == 2  # default: all labels and the resource
    assert len(set(fps(two, ["svc"]))) == 1  # the key's set
    assert len(set(fps(two | {"fingerprint_labels": ["pod"]}, ["svc"]))) == 2  # body wins
    own = {"alerts": [alert("1", fingerprint_labels=["svc"]), alert("2")]}
    body = own | {"fingerprint_labels": ["pod"]}
    first, second = fps(body, ["name"])
    assert first == fps({"alerts": [alert("9")]}, ["svc"])[0]  # the alert's own set wins
    assert second != first
    assert fps({"alerts": [alert("1", fingerprint="fixed")]}, ["svc"]) == ["fixed"]


def test_a_single_alert_object_carries_its_own_set():
    assert fps(alert("1", fingerprint_labels=["svc"])) == fps(alert("2"), ["svc"])


def test_order_and_repeats_do_not_matter_and_pseudo_labels_work():
    assert fps(alert("1"), ["svc", "name"]) == fps(alert("1"), ["name", "svc", "svc"])
    assert fps(alert("1"), ["resource"]) != fps(alert("2"), ["resource"])
    assert fps(alert("1"), ["name"]) == fps(alert("2"), ["name"])


@pytest.mark.parametrize("bad", [[], "svc", [3], [""], ["x" * 129], [f"l{i}" for i in range(21)]])
def test_bad_sets_are_unparseable(bad):
    with pytest.raises(UnparseablePayload, match="fingerprint_labels"):
        generic.normalise({"alerts": [alert("1")], "fingerprint_labels": bad})
    with pytest.raises(UnparseablePayload, match="fingerprint_labels"):
        generic.normalise(alert("1", fingerprint_labels=bad))


def test_the_envelope_carries_the_keys_set():
    env = IngestEnvelope("generic", "2026-03-01T12:00:00Z", "key:x", None, {"a": 1}, None, ["svc"])
    again = IngestEnvelope.from_json(env.to_json())
    assert again == env and again.fingerprint_labels == ["svc"]
    old = '{"source":"generic","received_at":"x","principal":"p","request_id":null}'
    assert IngestEnvelope.from_json(old).fingerprint_labels is None  # queued before the field
    with pytest.raises(TypeError):
        IngestEnvelope.from_json(old[:-1] + ',"fingerprint_labels":"svc"}')
