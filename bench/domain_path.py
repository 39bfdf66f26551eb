"""Domain path per alert on ONE core: normalise, fingerprint, dedup, correlate (in-memory ports).

    python -m bench.domain_path [--alerts 10000] [--groups 200] [--seed 7] [--runs 5]

Input: Alertmanager webhook v4 payloads generated in memory with a seeded RNG (not timed):
`--alerts` alert entries in `--groups` alert groups (one `service` and `groupKey` each), every
payload carrying up to 10 alerts of one group, as Alertmanager batches them. Each fingerprint
follows a small state machine: it fires (a new `startsAt`), then is re-notified (the same
`startsAt`: Alertmanager's repeat, which dedup must not count twice), repeats with a later
`startsAt` (counted) or resolves (`endsAt`), and may fire again later.

Timed, per payload, single-threaded (pinned to one CPU where the OS allows):
`omp.sources.alertmanager.normalise` (the payload into Signals, fingerprint included), then per
signal `omp.domain.dedup.apply` against a dict store (writing each decision as a store would),
then for every new alarm `omp.analytics.correlation.correlate` with the rule set
[topology within 2 hops, group by `service` within 30 minutes, open after 2 alarms] against an
in-memory group store and topology, and the incident transitions (`omp.domain.incidents`):
open, join, alarm resolved, auto-resolve.

Checks (exit 1 when one fails, 2 on a crash): the alarms created equal the firing periods the
generator produced (less those a flapping fingerprint folds into its same alarm), repeats,
resolves and ignored replays equal the generator's counts, and no alarm is in two active
incidents. Results: bench/results/domain_path.json and a markdown summary on stdout.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.common import machine, median, table, write_result
from omp.analytics import correlation
from omp.analytics.correlation import (
    AlarmFacts,
    LabelGroupRule,
    MemoryGroupStore,
    MemoryTopology,
    Outcome,
    TopologyRule,
)
from omp.domain import dedup, incidents
from omp.domain.alarms import Severity
from omp.domain.dedup import Action, AlertState
from omp.domain.incidents import Incident, IncidentAlarm
from omp.domain.signals import Signal, SignalStatus

TARGET_PER_S = 10_000
START = datetime(2026, 3, 1, tzinfo=UTC)
PER_PAYLOAD = 10
SEVERITIES = ("critical", "warning", "warning", "info", "major")

Normalise = Callable[[dict[str, Any]], list[Signal]]
_am_normalise: Normalise | None
try:  # the normaliser another change adds; the bench says which path it measured
    from omp.sources.alertmanager import normalise as _imported

    _am_normalise = _imported
    NORMALISER = "omp.sources.alertmanager.normalise"
except ImportError:  # pragma: no cover - before the source normalisers landed
    _am_normalise = None
    NORMALISER = "none (Signals built directly)"


def _rfc3339(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass
class Truth:
    firing_periods: int = 0
    repeats: int = 0
    renotifications: int = 0
    resolves: int = 0
    entries: int = 0


def generate(
    alerts: int, groups: int, seed: int
) -> tuple[list[dict[str, Any]], Truth, MemoryTopology]:
    """Alertmanager v4 payloads; the generator's own counts; the hosts' topology."""
    rng = random.Random(seed)
    truth = Truth()
    per_group = max(1, alerts // groups // 3)  # about 3 entries per alert instance
    topology = MemoryTopology()
    # state per (group, index): None (not firing) or its startsAt
    firing: dict[tuple[int, int], datetime | None] = {}
    t = START
    payloads = []
    while truth.entries < alerts:
        g = rng.randrange(groups)
        t += timedelta(milliseconds=rng.randrange(0, 4000))
        batch = []
        n = min(rng.randint(1, PER_PAYLOAD), alerts - truth.entries)
        for i in rng.sample(range(per_group), min(n, per_group)):
            host = f"host-{g}-{i}"
            topology.link(host, f"svc-{g}")
            labels = {
                "alertname": f"Alert{g % 17}",
                "service": f"svc-{g}",
                "instance": host,
                "severity": SEVERITIES[(g + i) % len(SEVERITIES)],
            }
            started = firing.get((g, i))
            status, starts, ends = "firing", started, None
            if started is None:
                starts = t
                firing[(g, i)] = t
                truth.firing_periods += 1
            else:
                roll = rng.random()
                if roll < 0.40:
                    truth.renotifications += 1  # same startsAt: not a new occurrence
                elif roll < 0.65:
                    starts = t
                    firing[(g, i)] = t
                    truth.repeats += 1
                else:
                    status, ends = "resolved", t
                    firing[(g, i)] = None
                    truth.resolves += 1
            assert starts is not None
            batch.append(
                {
                    "status": status,
                    "labels": labels,
                    "annotations": {"summary": f"{labels['alertname']} on {host}"},
                    "startsAt": _rfc3339(starts),
                    "endsAt": _rfc3339(ends) if ends else "0001-01-01T00:00:00Z",
                    "generatorURL": f"http://prometheus:9090/graph?g0.expr=up{{instance={host}}}",
                    "fingerprint": f"{g:04x}{i:012x}",
                }
            )
            truth.entries += 1
        payloads.append(
            {
                "version": "4",
                "groupKey": f'{{}}:{{service="svc-{g}"}}',
                "truncatedAlerts": 0,
                "status": "firing" if any(a["status"] == "firing" for a in batch) else "resolved",
                "receiver": "om-platform",
                "groupLabels": {"service": f"svc-{g}"},
                "commonLabels": {"service": f"svc-{g}"},
                "commonAnnotations": {},
                "externalURL": "http://alertmanager:9093",
                "alerts": batch,
            }
        )
    return payloads, truth, topology


def _signals_directly(payload: dict[str, Any]) -> list[Signal]:  # pragma: no cover
    from omp.domain.signals import SignalSeverity

    out = []
    for a in payload["alerts"]:
        resolved = a["status"] == "resolved"
        at = datetime.fromisoformat(a["endsAt"] if resolved else a["startsAt"])
        out.append(
            Signal(
                source="alertmanager",
                fingerprint=a["fingerprint"],
                status=SignalStatus.RESOLVED if resolved else SignalStatus.FIRING,
                name=a["labels"]["alertname"],
                severity=SignalSeverity(a["labels"].get("severity", "warning")),
                observed_at=at,
                resource=a["labels"].get("instance"),
                labels=a["labels"],
            )
        )
    return out


@dataclass
class Pipeline:
    """The domain path with in-memory stores: what a consumer does per signal."""

    rules: list[Any]
    states: dict[tuple[str, str], AlertState] = field(default_factory=dict)
    groups: MemoryGroupStore = field(default_factory=MemoryGroupStore)
    incidents: dict[str, Incident] = field(default_factory=dict)
    incident_of: dict[str, str] = field(default_factory=dict)  # alarm id -> incident id
    members: dict[str, IncidentAlarm] = field(default_factory=dict)  # alarm id -> member
    member_ids: defaultdict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    group_of: dict[str, str] = field(default_factory=dict)  # alarm id -> group key
    actions: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    new_alarms: int = 0
    flapping_started: int = 0

    def handle(self, signal: Signal) -> None:
        key = (signal.source, signal.fingerprint)
        state = self.states.get(key)
        decision = dedup.apply(state, signal, signal.observed_at)
        self.actions[decision.action.value] += 1
        if decision.flapping_started:
            self.flapping_started += 1
        if decision.action is Action.REPEAT:
            assert state is not None and decision.repeat is not None
            self.states[key] = dedup.apply_repeat(state, decision.repeat)
            return
        if decision.state is None:
            return
        if state is not None and state.version != decision.expected_version:
            raise AssertionError("version condition failed in a single-threaded run")
        self.states[key] = decision.state
        alarm_id = decision.alarm_id
        assert alarm_id is not None
        if decision.new_alarm:
            self.new_alarms += 1
            self._correlate(signal, alarm_id)
        elif decision.action is Action.RESOLVE:
            self._resolved(alarm_id, signal.observed_at)
        elif decision.action is Action.REOPEN:  # the same alarm, flapping
            inc_id = self.incident_of.get(alarm_id)
            inc = self.incidents.get(inc_id) if inc_id else None
            if inc is not None and inc.active:
                member = self.members[alarm_id]
                self.incidents[inc.id] = incidents.alarm_reopened(inc, member, signal.observed_at)
                self.members[alarm_id] = replace(member, resolved=False)
            else:
                self._correlate(signal, alarm_id)

    def _correlate(self, signal: Signal, alarm_id: str) -> None:
        facts = AlarmFacts(
            alarm_id=alarm_id,
            at=signal.observed_at,
            severity=Severity(signal.severity.value),
            name=signal.name,
            resource=signal.resource,
            labels=signal.labels,
        )
        d = correlation.correlate(facts, self.rules, self.groups, signal.observed_at)
        self.outcomes[d.outcome.value] += 1
        self.groups.save(d.group, d.new_resources)
        self.group_of[alarm_id] = d.group.key
        if d.outcome is Outcome.JOIN:
            assert d.incident_id is not None
            inc = self.incidents[d.incident_id]
            self.incidents[inc.id] = incidents.add_alarm(inc, d.alarms[0], signal.observed_at)
            self.incident_of[alarm_id] = inc.id
            self.members[alarm_id] = d.alarms[0]
            self.member_ids[inc.id].add(alarm_id)
        elif d.outcome is Outcome.OPEN:
            assert d.incident_id is not None
            inc = incidents.open_incident(
                incident_id=d.incident_id,
                group_key=d.group.key,
                alarms=d.alarms,
                now=signal.observed_at,
                rule=d.rule,
            )
            self.incidents[inc.id] = inc
            for a in d.alarms:
                self.incident_of[a.alarm_id] = inc.id
                self.members[a.alarm_id] = a
                self.member_ids[inc.id].add(a.alarm_id)

    def _resolved(self, alarm_id: str, at: datetime) -> None:
        inc_id = self.incident_of.get(alarm_id)
        if inc_id is None:  # still pending in its group
            key = self.group_of.get(alarm_id)
            group = self.groups.group(key) if key else None
            if group is not None and group.is_pending:
                left = correlation.on_alarm_resolved(group, alarm_id)
                if left is None:
                    self.groups.delete(group.key)
                else:
                    self.groups.save(left)
            return
        inc = self.incidents[inc_id]
        if not inc.active:
            return
        member = self.members[alarm_id]
        after = incidents.alarm_resolved(inc, member, at)
        self.incidents[inc_id] = after
        self.members[alarm_id] = replace(member, resolved=True)
        if not after.active:
            group = self.groups.group(after.group_key)
            if group is not None and group.incident_id == inc_id:
                self.groups.save(correlation.close(group))


def _pin_one_core() -> str:
    if hasattr(os, "sched_setaffinity"):
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"pinned to CPU {cpu}"
    return "not pinned (no sched_setaffinity)"  # pragma: no cover


def run_once(
    payloads: list[dict[str, Any]], topology: MemoryTopology
) -> tuple[float, Pipeline, int]:
    rules: list[Any] = [
        TopologyRule(name="topology", topology=topology, k=2, window=timedelta(minutes=30)),
        LabelGroupRule(
            name="by-service", by=("service",), window=timedelta(minutes=30), open_after_alarms=2
        ),
    ]
    pipe = Pipeline(rules=rules)
    normalise: Normalise = _signals_directly if _am_normalise is None else _am_normalise
    count = 0
    began = time.perf_counter()
    for payload in payloads:
        for signal in normalise(payload):
            pipe.handle(signal)
            count += 1
    return time.perf_counter() - began, pipe, count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=10_000)
    parser.add_argument("--groups", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    pinned = _pin_one_core()
    payloads, truth, topology = generate(args.alerts, args.groups, args.seed)
    times = []
    pipe: Pipeline | None = None
    for _ in range(args.runs):
        elapsed, pipe, count = run_once(payloads, topology)
        times.append(elapsed)
    assert pipe is not None
    best, med = min(times), median(times)
    per_s_best, per_s_median = count / best, count / med
    a = pipe.actions
    active_alarm_incidents: Counter[str] = Counter()
    for inc in pipe.incidents.values():
        if inc.active:
            active_alarm_incidents.update(pipe.member_ids[inc.id])
    flap_reopens = a["reopen"] - (pipe.new_alarms - a["create"])
    checks = {
        "alarms created == firing periods - flapping same-alarm reopens": pipe.new_alarms
        == truth.firing_periods - flap_reopens,
        "repeats counted == generator repeats": a["repeat"] == truth.repeats,
        "re-notifications (same startsAt) ignored": a["ignore"] == truth.renotifications,
        "resolves == generator resolves": a["resolve"] == truth.resolves,
        "no alarm in two active incidents": all(v == 1 for v in active_alarm_incidents.values()),
        "every signal decided": sum(a.values()) == truth.entries,
    }
    result = {
        "normaliser": NORMALISER,
        "cpu": pinned,
        "alerts": count,
        "payloads": len(payloads),
        "groups": args.groups,
        "seed": args.seed,
        "runs_s": [round(t, 4) for t in times],
        "alerts_per_s_best": round(per_s_best),
        "alerts_per_s_median": round(per_s_median),
        "us_per_alert_median": round(med / count * 1e6, 1),
        "target_per_s": TARGET_PER_S,
        "target_met": per_s_median >= TARGET_PER_S,
        "generator": truth.__dict__,
        "dedup_actions": dict(a),
        "alarms_created": pipe.new_alarms,
        "flapping_started": pipe.flapping_started,
        "correlation_outcomes": dict(pipe.outcomes),
        "incidents": len(pipe.incidents),
        "incidents_active_at_end": sum(1 for i in pipe.incidents.values() if i.active),
        "groups_pending_at_end": len(pipe.groups.pending()),
        "checks": checks,
        "machine": machine(),
    }
    path = write_result("domain_path", result)
    print(f"## Domain path ({NORMALISER}; {pinned})\n")
    print(
        table(
            ["alerts", "runs", "best s", "median s", "alerts/s (median)", "us/alert", "target"],
            [
                [
                    count,
                    args.runs,
                    f"{best:.3f}",
                    f"{med:.3f}",
                    f"{per_s_median:,.0f}",
                    result["us_per_alert_median"],
                    f"{'PASS' if result['target_met'] else 'FAIL'} (>= {TARGET_PER_S:,}/s)",
                ]
            ],
        )
    )
    print()
    print(
        table(
            ["created", "repeats", "resolves", "reopens", "ignored", "incidents", "pending"],
            [
                [
                    pipe.new_alarms,
                    a["repeat"],
                    a["resolve"],
                    a["reopen"],
                    a["ignore"],
                    len(pipe.incidents),
                    result["groups_pending_at_end"],
                ]
            ],
        )
    )
    print()
    for name, ok in checks.items():
        print(f"- {'PASS' if ok else 'FAIL'}: {name}")
    print(f"\nresults: {path}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception:  # a crash is exit 2, with the traceback
        import traceback

        traceback.print_exc()
        sys.exit(2)
