"""Suppression per new alarm on ONE core: silences, maintenance windows, inhibition rules.

    python -m bench.suppression [--alerts 10000] [--silences 200] [--windows 20] [--rules 20]
                                [--active 5000] [--seed 7] [--runs 3]

What the alert consumer asks for every new or reopened alarm
(`omp.services.suppression.SilenceSuppression.suppressed`), with the stores in memory and loaded
before the clock starts (the consumer reads them once per batch): `--silences` active silences
(`alertname` + an `instance` regex each), `--windows` maintenance windows (`env` + `team`, a
quarter of them open), `--rules` inhibition rules (source `alertname=NodeDown` and a severity,
target a `severity` regex, `equal: [instance, cluster]`), and `--active` active alarms as the
inhibition sources (a tenth of them `NodeDown`). The alerts: 40 alert names over 2,000 instances,
10 clusters, severities critical/warning/info. Also counts how many alerts each kind held.

Results: bench/results/suppression.json and a summary on stdout.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta

from bench.common import machine, median, table, write_result
from omp.adapters.memory import FixedClock, MemoryAlarmRepository
from omp.adapters.memory_silences import (
    MemoryInhibitionRuleStore,
    MemoryMaintenanceWindowStore,
    MemorySilenceStore,
)
from omp.domain.alarms import Alarm, AlarmStatus, Severity
from omp.domain.dedup import AlertState, AlertStatus
from omp.domain.inhibition import InhibitionRuleRecord, InhibitRule
from omp.domain.matchers import parse_matchers
from omp.domain.signals import Signal, SignalSeverity, SignalStatus
from omp.domain.silences import MaintenanceWindow, RecurringSchedule, Silence, SilenceRecord
from omp.services.silences import ActiveAlarms
from omp.services.suppression import SilenceSuppression

NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
NAMES = [f"Alert{n}" for n in range(39)] + ["NodeDown"]
SEVERITIES = ("critical", "warning", "info")


def build(args: argparse.Namespace, rng: random.Random) -> tuple[SilenceSuppression, list[Signal]]:
    silences, windows, rules = (
        MemorySilenceStore(),
        MemoryMaintenanceWindowStore(),
        MemoryInhibitionRuleStore(),
    )
    alarms = MemoryAlarmRepository()
    for n in range(args.silences):
        matchers = parse_matchers(
            f'{{alertname="{rng.choice(NAMES)}", instance=~"host-{rng.randrange(200)}[0-9]"}}'
        )
        silences.put_new(
            SilenceRecord(
                Silence(
                    id=f"sil_{n:026d}",
                    matchers=matchers,
                    starts_at=NOW - timedelta(hours=1),
                    ends_at=NOW + timedelta(hours=1),
                    created_by="bench",
                    created_at=NOW,
                    comment="bench",
                )
            )
        )
    for n in range(args.windows):
        hour = 12 if n % 4 == 0 else (n % 23) + 1  # a quarter open at NOW
        windows.put_new(
            MaintenanceWindow(
                id=f"mwn_{n:026d}",
                name=f"w{n}",
                schedule=RecurringSchedule.of(f"0 {hour} * * *", timedelta(hours=2), "UTC"),
                matchers=parse_matchers(f'{{env="env{n % 5}", team="team{n}"}}'),
                created_at=NOW,
            )
        )
    for n in range(args.rules):
        rules.put_new(
            InhibitionRuleRecord(
                id=f"inh_{n:026d}",
                rule=InhibitRule(
                    source_matchers=parse_matchers(
                        f'{{alertname="NodeDown", severity="{SEVERITIES[n % 2]}"}}'
                    ),
                    target_matchers=parse_matchers(f'{{severity=~"warning|info", rack="r{n}"}}')
                    if n
                    else parse_matchers('{severity=~"warning|info"}'),
                    equal=("instance", "cluster"),
                ),
                created_by="bench",
                created_at=NOW + timedelta(seconds=n),
            )
        )
    for n in range(args.active):
        name = "NodeDown" if n % 10 == 0 else rng.choice(NAMES[:-1])
        stamp = (NOW - timedelta(minutes=n % 600)).isoformat().replace("+00:00", "Z")
        alarms.put_new(
            Alarm(
                id=f"alm_{n:026d}",
                name=name,
                severity=Severity(rng.choice(SEVERITIES)),
                message="",
                source="alertmanager",
                labels=labels(rng, name),
                status=AlarmStatus.OPEN,
                triggered_at=stamp,
                created_at=stamp,
                updated_at=stamp,
                created_by="bench",
            )
        )
    suppression = SilenceSuppression(
        silences=lambda: silences,
        windows=lambda: windows,
        rules=lambda: rules,
        alarms=lambda: alarms,
        clock=FixedClock(NOW),
        scope=ActiveAlarms(cap=args.active),
    )
    signals = []
    for n in range(args.alerts):
        name = rng.choice(NAMES)
        signals.append(
            Signal(
                source="alertmanager",
                fingerprint=f"fp{n}",
                status=SignalStatus.FIRING,
                name=name,
                severity=SignalSeverity(rng.choice(SEVERITIES)),
                observed_at=NOW,
                labels={"alertname": name, **labels(rng, name)},
            )
        )
    return suppression, signals


def labels(rng: random.Random, name: str) -> dict[str, str]:
    return {
        "instance": f"host-{rng.randrange(2000)}",
        "cluster": f"c{rng.randrange(10)}",
        "env": f"env{rng.randrange(5)}",
        "team": f"team{rng.randrange(40)}",
        "rack": f"r{rng.randrange(20)}",
    }


def run(args: argparse.Namespace) -> dict[str, float | int]:
    suppression, signals = build(args, random.Random(args.seed))
    state = AlertState(
        source="alertmanager",
        fingerprint="x",
        alarm_id="alm_x",
        status=AlertStatus.OPEN,
        occurrences=1,
        first_seen=NOW,
        last_seen=NOW,
        last_change=NOW,
    )
    suppression._load()  # the batch's one read, outside the clock
    suppression._rule_indexes()
    held = {"silence": 0, "window": 0, "inhibition": 0, "any": 0}
    started = time.perf_counter()
    answers = [suppression.suppressed(s, state) for s in signals]
    elapsed = time.perf_counter() - started
    for ids in answers:
        held["any"] += bool(ids)
        for prefix, kind in (("sil_", "silence"), ("mwn_", "window"), ("inh_", "inhibition")):
            held[kind] += any(i.startswith(prefix) for i in ids)
    return {"per_s": len(signals) / elapsed, "us_per_alert": elapsed / len(signals) * 1e6, **held}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=10_000)
    parser.add_argument("--silences", type=int, default=200)
    parser.add_argument("--windows", type=int, default=20)
    parser.add_argument("--rules", type=int, default=20)
    parser.add_argument("--active", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    started = time.perf_counter()
    runs = [run(args) for _ in range(args.runs)]
    per_s = median(r["per_s"] for r in runs)
    result = {
        "machine": machine(),
        "args": vars(args),
        "alerts_per_s_median": round(per_s),
        "us_per_alert_median": round(median(r["us_per_alert"] for r in runs), 1),
        "held": {k: runs[0][k] for k in ("silence", "window", "inhibition", "any")},
        "runs": runs,
        "elapsed_s": round(time.perf_counter() - started, 1),
    }
    path = write_result("suppression", result)
    print(
        table(
            ["alerts", "silences", "windows", "rules", "active", "alerts/s (median)", "µs/alert"],
            [
                [
                    args.alerts,
                    args.silences,
                    args.windows,
                    args.rules,
                    args.active,
                    result["alerts_per_s_median"],
                    result["us_per_alert_median"],
                ]
            ],
        )
    )
    print(f"\nheld: {result['held']}  (results: {path})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
