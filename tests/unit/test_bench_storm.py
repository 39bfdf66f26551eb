"""The storm benchmark's generator (bench/storm.py): deterministic, internally consistent, and its
expected outcome is what the domain (dedup + the default correlation rules) makes of it in any
order that keeps each group's messages in sequence. No runtime, no I/O."""

from __future__ import annotations

import json
import random
from collections import Counter, defaultdict
from datetime import UTC, datetime

import pytest

from bench import storm
from bench.domain_path import Pipeline
from omp.domain.dedup import Action
from omp.services.pipeline import DEFAULT_RULES
from omp.sources.alertmanager import normalise

BASE = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _dump(s: storm.Storm) -> str:
    return json.dumps([[m.group, m.at.isoformat(), m.payload] for m in s.messages])


def test_the_same_seed_gives_the_same_storm_and_another_seed_another() -> None:
    a = storm.generate(10_000, 200, 11, BASE)
    b = storm.generate(10_000, 200, 11, BASE)
    c = storm.generate(10_000, 200, 12, BASE)
    assert _dump(a) == _dump(b) and a.expected.summary() == b.expected.summary()
    assert _dump(a) != _dump(c)
    assert [[m.group for m in lane] for lane in storm.schedule(a, 4)] == [
        [m.group for m in lane] for lane in storm.schedule(b, 4)
    ]


def test_the_recorded_storm_has_10000_entries_in_200_groups() -> None:
    s = storm.generate(10_000, 200, 11, BASE)
    entries = sum(len(m.payload["alerts"]) for m in s.messages)
    assert entries == s.expected.entries == 10_000
    per_group = Counter()
    for m in s.messages:
        per_group[m.group] += len(m.payload["alerts"])
    assert len(per_group) == 200 and set(per_group.values()) == {50}
    e = s.expected
    assert e.creates + e.repeats + e.renotifications + e.resolves == e.entries
    assert e.creates == len(e.resolved | e.open) and not e.resolved & e.open
    assert e.resolves == len(e.resolved)
    assert len(e.incidents) == 40 + 40  # 160 groups 4 per shared service + 40 solo groups


def test_every_message_is_an_alertmanager_v4_webhook_and_fingerprints_follow_the_labels() -> None:
    s = storm.generate(2_000, 40, 3, BASE)
    labels_of: dict[str, str] = {}
    for m in s.messages:
        p = m.payload
        assert p["version"] == "4" and p["truncatedAlerts"] == 0 and p["alerts"]
        assert p["groupKey"] == s.groups[m.group].group_key
        assert p["status"] == (
            "firing" if any(a["status"] == "firing" for a in p["alerts"]) else "resolved"
        )
        fps = [a["fingerprint"] for a in p["alerts"]]
        assert len(fps) == len(set(fps))  # an alert appears once per notification
        for a in p["alerts"]:
            assert a["fingerprint"] == storm.fingerprint_of(a["labels"])
            assert {k: a["labels"][k] for k in p["commonLabels"]} == p["commonLabels"]
            key = json.dumps(a["labels"], sort_keys=True)
            assert labels_of.setdefault(a["fingerprint"], key) == key
        signals = normalise(p)
        assert [sig.fingerprint for sig in signals] == fps
    assert len(labels_of) == len(s.expected.resolved | s.expected.open)


def test_each_alert_fires_first_never_goes_back_and_resolves_once_at_the_end() -> None:
    s = storm.generate(2_000, 40, 5, BASE)
    history: dict[str, list[dict[str, str]]] = defaultdict(list)
    for m in s.messages:  # group by group, in send order
        for a in m.payload["alerts"]:
            history[a["fingerprint"]].append(a)
    for fp, seen in history.items():
        assert seen[0]["status"] == "firing"
        starts = [a["startsAt"] for a in seen]
        assert starts == sorted(starts)
        resolved = [i for i, a in enumerate(seen) if a["status"] == "resolved"]
        assert resolved in ([], [len(seen) - 1])
        if resolved:
            assert seen[-1]["endsAt"] >= seen[-1]["startsAt"] and fp in s.expected.resolved
        else:
            assert seen[-1]["endsAt"] == storm.ZERO_TIME and fp in s.expected.open


def test_shared_groups_keep_an_alert_firing_from_their_first_message_and_solo_groups_resolve() -> (
    None
):
    s = storm.generate(2_000, 40, 7, BASE)
    by_group = s.by_group()
    for plan in s.groups:
        first = {a["fingerprint"] for a in by_group[plan.index][0].payload["alerts"]}
        if plan.solo:
            assert all(a.resolves for a in plan.alerts)
            # no alert of a solo group appears for the first time after a resolve
            seen: set[str] = set()
            resolved_yet = False
            for m in by_group[plan.index]:
                for a in m.payload["alerts"]:
                    assert not (resolved_yet and a["fingerprint"] not in seen)
                    seen.add(a["fingerprint"])
                resolved_yet |= any(a["status"] == "resolved" for a in m.payload["alerts"])
        else:
            assert any(a.fingerprint in first and not a.resolves for a in plan.alerts)


@pytest.mark.parametrize("order", ["groups", "reversed", "lanes-shuffled"])
def test_the_domain_makes_of_it_what_the_storm_expects_in_any_per_group_order(order: str) -> None:
    s = storm.generate(2_000, 40, 9, BASE)
    if order == "groups":
        messages = s.messages
    elif order == "reversed":
        messages = [m for g in reversed(s.groups) for m in s.by_group()[g.index]]
    else:  # lanes merged at random, each lane (and so each group) kept in order
        lanes = [list(lane) for lane in storm.schedule(s, 4)]
        rng, messages = random.Random(1), []
        while any(lanes):
            lane = rng.choice([lane for lane in lanes if lane])
            messages.append(lane.pop(0))
    pipe = Pipeline(rules=list(DEFAULT_RULES))
    for m in messages:
        for signal in normalise(m.payload):
            pipe.handle(signal)
    e = s.expected
    assert pipe.actions[Action.CREATE.value] == e.creates
    assert pipe.actions[Action.REPEAT.value] == e.repeats
    assert pipe.actions[Action.IGNORE.value] == e.renotifications
    assert pipe.actions[Action.RESOLVE.value] == e.resolves
    assert pipe.actions[Action.REOPEN.value] == 0
    assert len(pipe.incidents) == len(e.incidents)
    resolved = [i for i in pipe.incidents.values() if not i.active]
    assert len(resolved) == e.summary()["incidents_resolved"]
    alarms_of = {inc.id: pipe.member_ids[inc.id] for inc in pipe.incidents.values()}
    assert sum(inc.alarm_count for inc in pipe.incidents.values()) == e.creates
    assert sum(len(ids) for ids in alarms_of.values()) == e.creates  # each alarm in one incident


def test_too_few_alerts_per_group_is_refused() -> None:
    with pytest.raises(ValueError, match="alerts per group"):
        storm.generate(100, 20, 1, BASE)
