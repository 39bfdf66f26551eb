"""Alert storm through the local runtime: Alertmanager webhooks in, alarms and incidents out.

    python -m bench.storm [--alerts 10000] [--groups 200] [--threads 4] [--seed 11]

`python -m infra.local` runs as a subprocess on a free port (as tests/e2e/conftest.py starts
it). The bench creates an integration key scoped to `alertmanager` through the API, then
`--threads` client threads POST the storm to `/v1/ingest/alertmanager` with that key.

The storm (`generate`, seeded, deterministic for a given seed and base time): `--alerts` alert
entries in `--groups` Alertmanager groups. Each group is one `groupKey` (`alertname` and
`service`, as a `group_by: [alertname, service]` route gives) and a sequence of webhook v4
messages as Alertmanager sends them for one group: every message carries every alert of the
group that is still firing (the earlier ones again, with their unchanged `startsAt`) plus those
that resolved since the previous message (`status: resolved`, `endsAt` set, sent once). A group
goes through three phases: alerts join in one to three waves; repeat notifications (now and then
an alert comes back with a later `startsAt`, a counted repeat); resolves in one to three
messages. Labels follow events/sources/alertmanager_webhook_v4.json (alertname, service, team,
severity, instance or pod, namespace, cluster, job); fingerprints are a hash of the label set,
unique per alert.

Services: `--groups` / 5 of the groups are "solo" (the only group of their service) and every
one of their alerts resolves; the rest share a service four by four (four alertnames per
service), and in those groups at least one alert (the first of the first wave) never resolves.

Expected outcome, from the default pipeline config (`omp.services.pipeline.DEFAULT_RULES`):
the rule `LabelGroupRule("service", by=("service",))` groups every alarm with the same `service`
label whose first firing is within 30 minutes (sliding) of the group's last one, and opens the
incident at once; `IncidentPolicy.auto_resolve` resolves the incident when its last alarm
resolves, and a closed group is never joined again. All `startsAt` of one run lie within about
ten minutes, so:
- one alarm per distinct fingerprint (a later `startsAt` while firing is a repeat, not a new alarm);
- one incident per service: a shared service's incident always holds a never-resolving alarm
  from the first message of each of its groups, so it stays open whatever the order in which
  groups are processed; a solo group's messages go out in order from one thread and no alert of
  it fires after its first resolve, so its incident opens once and resolves with its last alarm.
The per-group order holds because one client thread sends a group's messages in order and the
single `process-alerts` poller consumes the queue in order (a retried record would break it: the
bench would then report resolved alarms still open).

Measured: wall time from the first POST until `alert-ingest` is empty and nothing is in flight
(polled through the runtime's moto endpoint, named in its log), alerts and alarms per second,
and the p50/p95/max latency of the webhook POSTs (client side). Then verified through the API:
every fingerprint has exactly one alarm (zero lost, zero duplicates), resolved ones resolved and
the others open, the incident count, each incident's alarms and status, both DLQs empty.
Results: bench/results/storm.json and a markdown summary on stdout; exit 1 when a check fails.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import itertools
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import ROOT, report, table

SOURCE = "alertmanager"
SOLO_EVERY = 5  # one group in five is alone in its service
GROUPS_PER_SERVICE = 4  # the others share a service four by four
MIN_ALERTS, MAX_ALERTS = 3, 10  # distinct alerts per group
MIN_BUDGET = 12  # alert entries per group, at least
REFIRE_P = 0.08  # a firing alert re-sent with a later startsAt (a counted repeat)

ALERTNAMES = (
    "HighErrorRate",
    "HighLatencyP99",
    "KubePodCrashLooping",
    "KubeContainerOOMKilled",
    "DiskFull",
    "NodeMemoryPressure",
    "TargetDown",
    "CPUThrottlingHigh",
    "PostgresReplicationLag",
    "KafkaConsumerLag",
)
SUMMARIES = {
    "HighErrorRate": "5xx ratio above 5% on {where}",
    "HighLatencyP99": "p99 latency above 1.5 s on {where}",
    "KubePodCrashLooping": "Pod {where} is restarting repeatedly",
    "KubeContainerOOMKilled": "Container in {where} was OOM killed",
    "DiskFull": "Disk on {where} is 97% full",
    "NodeMemoryPressure": "Node {where} is under memory pressure",
    "TargetDown": "Scrape target {where} is down",
    "CPUThrottlingHigh": "CPU throttling above 50% on {where}",
    "PostgresReplicationLag": "Replication lag above 30 s on {where}",
    "KafkaConsumerLag": "Consumer lag above 10k messages on {where}",
}
TEAMS = ("payments", "storage", "platform", "checkout", "search", "identity")
CLUSTERS = ("prod-eu-west-1", "prod-us-east-1")
SEVERITIES = ("critical", "warning", "warning", "info", "major")
ZERO_TIME = "0001-01-01T00:00:00Z"


def rfc3339(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass(frozen=True)
class StormAlert:
    fingerprint: str
    group: int
    service: str
    labels: dict[str, str]
    annotations: dict[str, str]
    resolves: bool  # resolved by the end of the storm


@dataclass(frozen=True)
class Message:
    group: int
    at: datetime
    payload: dict[str, Any]


@dataclass(frozen=True)
class GroupPlan:
    index: int
    group_key: str
    service: str
    solo: bool
    alerts: tuple[StormAlert, ...]


@dataclass
class Expected:
    """The generator's own bookkeeping: what the pipeline must make of the storm."""

    entries: int = 0
    creates: int = 0  # first firing of a fingerprint
    repeats: int = 0  # firing again with a later startsAt
    renotifications: int = 0  # firing again with the same startsAt (ignored by dedup)
    resolves: int = 0
    resolved: set[str] = field(default_factory=set)  # fingerprints
    open: set[str] = field(default_factory=set)
    incidents: dict[str, dict[str, Any]] = field(default_factory=dict)  # by service

    def summary(self) -> dict[str, Any]:
        return {
            "entries": self.entries,
            "alarms": len(self.resolved) + len(self.open),
            "creates": self.creates,
            "repeats": self.repeats,
            "renotifications": self.renotifications,
            "resolves": self.resolves,
            "alarms_resolved": len(self.resolved),
            "alarms_open": len(self.open),
            "incidents": len(self.incidents),
            "incidents_resolved": sum(1 for i in self.incidents.values() if i["resolved"]),
        }


@dataclass
class Storm:
    groups: list[GroupPlan]
    messages: list[Message]  # per group in send order (group by group)
    expected: Expected
    base: datetime
    seed: int

    def by_group(self) -> dict[int, list[Message]]:
        out: dict[int, list[Message]] = defaultdict(list)
        for m in self.messages:
            out[m.group].append(m)
        return out


def fingerprint_of(labels: dict[str, str]) -> str:
    """A 16-hex-digit fingerprint of the label set (Alertmanager's are 16 hex digits too)."""
    text = "\x1f".join(f"{k}={v}" for k, v in sorted(labels.items()))
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def _budgets(alerts: int, groups: int) -> list[int]:
    return [alerts // groups + (1 if g < alerts % groups else 0) for g in range(groups)]


def _split(n: int, parts: int, rng: random.Random) -> list[int]:
    """`n` into `parts` positive sizes (parts <= n)."""
    cuts = sorted(rng.sample(range(1, n), parts - 1)) if parts > 1 else []
    edges = [0, *cuts, n]
    return [b - a for a, b in itertools.pairwise(edges)]


def _plan_group(
    g: int, service: str, alertname: str, solo: bool, budget: int, rng: random.Random
) -> tuple[GroupPlan, list[int], list[int], int]:
    """A group's alerts, its firing waves and resolve batches, sized to fit `budget` entries."""
    team = TEAMS[int(service[-3:]) % len(TEAMS)]  # one team per service
    cluster = CLUSTERS[g % len(CLUSTERS)]
    while True:
        n = rng.randint(MIN_ALERTS, MAX_ALERTS)
        waves = _split(n, rng.randint(1, min(3, n)), rng)
        # shared services: one alert (sometimes two) keeps firing to the end
        resolvable = n if solo else n - (2 if n > 3 and rng.random() < 0.3 else 1)
        batches = _split(resolvable, rng.randint(1, min(3, resolvable)), rng) if resolvable else []
        fire = sum(sum(waves[: i + 1]) for i in range(len(waves)))
        firing, resolve = n, 0
        for b in batches:  # each resolve message re-sends the rest still firing
            resolve += firing
            firing -= b
        if fire + resolve <= budget:
            break
    alerts = []
    for i in range(n):
        kube = alertname.startswith("Kube")
        where = f"{service}-{i:02d}" + ("-7d9f8b6c5-x2x4z" if kube else ".example.com:9100")
        labels = {
            "alertname": alertname,
            "service": service,
            "team": team,
            "cluster": cluster,
            "severity": SEVERITIES[(g + i) % len(SEVERITIES)],
            "job": "kubernetes-pods" if kube else "node-exporter",
            **({"namespace": service, "pod": where} if kube else {"instance": where}),
        }
        annotations = {
            "summary": SUMMARIES[alertname].format(where=where),
            "runbook_url": f"https://runbooks.example.com/{alertname.lower()}",
        }
        alerts.append(
            StormAlert(fingerprint_of(labels), g, service, labels, annotations, i < resolvable)
        )
    # the alerts that never resolve come first: in a shared service, one of them fires in the
    # first message, which keeps the service's incident open whatever the processing order
    ordered = sorted(alerts, key=lambda a: a.resolves)
    group_key = f'{{}}/{{team="{team}"}}:{{alertname="{alertname}", service="{service}"}}'
    plan = GroupPlan(g, group_key, service, solo, tuple(ordered))
    return plan, waves, batches, budget - fire - resolve


def generate(alerts: int, groups: int, seed: int, base: datetime) -> Storm:
    """The storm: deterministic for (alerts, groups, seed, base)."""
    if groups < 1 or alerts < groups * MIN_BUDGET:
        raise ValueError(f"need at least {MIN_BUDGET} alerts per group")
    rng = random.Random(seed)
    expected = Expected()
    plans: list[GroupPlan] = []
    messages: list[Message] = []
    shared = 0
    for g, budget in enumerate(_budgets(alerts, groups)):
        solo = g % SOLO_EVERY == SOLO_EVERY - 1
        if solo:
            service, alertname = f"svc-solo-{g:03d}", ALERTNAMES[g % len(ALERTNAMES)]
        else:  # four groups (four alertnames) per shared service
            service = f"svc-{shared // GROUPS_PER_SERVICE:03d}"
            alertname = ALERTNAMES[shared % GROUPS_PER_SERVICE]
            shared += 1
        plan, waves, batches, spare = _plan_group(g, service, alertname, solo, budget, rng)
        plans.append(plan)
        msgs = _group_messages(plan, waves, batches, spare, base, rng, expected)
        messages.extend(msgs)
        incident = expected.incidents.setdefault(
            service, {"fingerprints": set(), "resolved": True, "groups": []}
        )
        incident["fingerprints"].update(a.fingerprint for a in plan.alerts)
        incident["groups"].append(g)
        incident["resolved"] = incident["resolved"] and all(a.resolves for a in plan.alerts)
    return Storm(plans, messages, expected, base, seed)


def _entry(alert: StormAlert, starts: datetime, ends: datetime | None) -> dict[str, Any]:
    return {
        "status": "resolved" if ends else "firing",
        "labels": alert.labels,
        "annotations": alert.annotations,
        "startsAt": rfc3339(starts),
        "endsAt": rfc3339(ends) if ends else ZERO_TIME,
        "generatorURL": (
            "http://prometheus.example.com:9090/graph?g0.expr="
            f"ALERTS%7Balertname%3D%22{alert.labels['alertname']}%22%7D"
        ),
        "fingerprint": alert.fingerprint,
    }


def _group_messages(
    plan: GroupPlan,
    waves: list[int],
    batches: list[int],
    spare: int,
    base: datetime,
    rng: random.Random,
    expected: Expected,
) -> list[Message]:
    t = base + timedelta(seconds=rng.uniform(0, 300))  # groups start within 5 minutes
    starts: dict[str, datetime] = {}
    firing: list[StormAlert] = []
    out: list[Message] = []

    def send(entries: list[dict[str, Any]], reason: str) -> None:
        nonlocal t
        status = "firing" if any(e["status"] == "firing" for e in entries) else "resolved"
        a0 = plan.alerts[0].labels
        common = {k: a0[k] for k in ("alertname", "service", "team", "cluster")}
        out.append(
            Message(
                plan.index,
                t,
                {
                    "version": "4",
                    "groupKey": plan.group_key,
                    "truncatedAlerts": 0,
                    "status": status,
                    "receiver": "om-platform",
                    "groupLabels": {"alertname": a0["alertname"], "service": a0["service"]},
                    "commonLabels": common,
                    "commonAnnotations": {},
                    "externalURL": "http://alertmanager.example.com:9093",
                    "notification_reason": reason,
                    "alerts": entries,
                },
            )
        )
        expected.entries += len(entries)
        t += timedelta(seconds=rng.uniform(5, 30))  # group_interval-ish, compressed

    def resend(alert: StormAlert, refire: bool) -> dict[str, Any]:
        if refire:
            starts[alert.fingerprint] = t
            expected.repeats += 1
        else:
            expected.renotifications += 1
        return _entry(alert, starts[alert.fingerprint], None)

    # 1. alerts join in waves; each message re-sends the ones already firing
    queue = list(plan.alerts)
    for size in waves:
        entries = [resend(a, False) for a in firing]
        for a in queue[:size]:
            starts[a.fingerprint] = t
            expected.creates += 1
            firing.append(a)
            entries.append(_entry(a, t, None))
        queue = queue[size:]
        send(entries, "group_wait" if len(out) == 0 else "group_interval")
    # 2. repeat notifications fill the group's budget (the last one may carry a subset)
    while spare > 0:
        chosen = firing[:spare]
        spare -= len(chosen)
        send([resend(a, rng.random() < REFIRE_P) for a in chosen], "repeat_interval")
    # 3. resolves, the never-resolving alerts first in `plan.alerts`, so resolve from the end
    for size in batches:
        done, firing = firing[len(firing) - size :], firing[: len(firing) - size]
        entries = [resend(a, False) for a in firing]
        for a in done:
            expected.resolves += 1
            expected.resolved.add(a.fingerprint)
            entries.append(_entry(a, starts[a.fingerprint], t))
        send(entries, "group_interval")
    expected.open.update(a.fingerprint for a in firing)
    return out


def schedule(storm: Storm, threads: int) -> list[list[Message]]:
    """Groups dealt round-robin to `threads` senders; each sender sends its groups' messages in
    time order (a group's own order kept), as Alertmanager's per-group dispatchers would."""
    lanes: list[list[Message]] = [[] for _ in range(threads)]
    for g, msgs in sorted(storm.by_group().items()):
        lanes[g % threads].extend(msgs)
    return [sorted(lane, key=lambda m: (m.at, m.group)) for lane in lanes]


# ---- the runtime ----------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Runtime:
    """`python -m infra.local` as a subprocess (what tests/e2e/conftest.py's LocalServer does)."""

    def __init__(self, data_dir: Path, token: str, log_level: str = "INFO") -> None:
        import httpx

        self.port = _free_port()
        self.token = token
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir / "server.log"
        env = {
            **os.environ,
            "OMP_PORT": str(self.port),
            "OMP_API_TOKEN": token,
            "OMP_DATA_DIR": str(data_dir),
            "OMP_SCHEDULES": "off",  # nothing but the storm runs
            "OMP_LOG_LEVEL": log_level,
            "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "layers" / "core" / "python")]),
        }
        for key in ("AWS_ENDPOINT_URL", "MOTO_PORT"):
            env.pop(key, None)
        self._log = self.log_path.open("wb")
        started = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "infra.local"],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 90
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"infra.local exited early:\n{self.output()[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.base_url}/_local/functions", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"infra.local did not start:\n{self.output()[-3000:]}")
            time.sleep(0.1)
        self.startup_s = time.monotonic() - started
        found = re.search(r"moto at (http://[0-9.:]+)", self.output())
        if not found:
            raise RuntimeError("the runtime's log does not name its moto endpoint")
        self.moto_url = found.group(1)

    def output(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


@contextlib.contextmanager
def runtime(keep: Path | None) -> Iterator[Runtime]:
    with tempfile.TemporaryDirectory(prefix="omp-storm-") as tmp:
        rt = Runtime(Path(tmp), token=f"storm-{os.getpid()}")
        try:
            yield rt
        finally:
            rt.close()
            if keep is not None:
                keep.parent.mkdir(parents=True, exist_ok=True)
                keep.write_bytes(rt.log_path.read_bytes())


class Queues:
    """Queue depths through the runtime's moto endpoint (SQS GetQueueAttributes)."""

    def __init__(self, moto_url: str) -> None:
        import boto3

        self.sqs = boto3.client(
            "sqs",
            endpoint_url=moto_url,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )

    def depth(self, name: str) -> tuple[int, int]:
        url = self.sqs.get_queue_url(QueueName=f"omp-local-{name}")["QueueUrl"]
        attrs = self.sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return (
            int(attrs["ApproximateNumberOfMessages"]),
            int(attrs["ApproximateNumberOfMessagesNotVisible"]),
        )


# ---- the run --------------------------------------------------------------------------------


@dataclass
class Sent:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    accepted_alerts: int = 0


def _send_lane(base_url: str, key: str, lane: list[Message], sent: Sent, lock: Any) -> None:
    import httpx

    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    with httpx.Client(base_url=base_url, timeout=60) as client:
        for m in lane:
            body = json.dumps(m.payload)
            began = time.perf_counter()
            try:
                resp = client.post("/v1/ingest/alertmanager", content=body, headers=headers)
            except httpx.HTTPError as exc:
                with lock:
                    sent.errors.append(f"group {m.group}: {type(exc).__name__}: {exc}")
                continue
            took = time.perf_counter() - began
            with lock:
                sent.latencies.append(took)
                sent.statuses[resp.status_code] += 1
                if resp.status_code == 202:
                    sent.accepted_alerts += int(resp.json().get("alerts", 0))
                elif len(sent.errors) < 20:
                    sent.errors.append(f"group {m.group}: {resp.status_code} {resp.text[:300]}")


def _percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def _wait_drained(queues: Queues, timeout_s: float, sending: threading.Event) -> tuple[float, int]:
    """Poll until alert-ingest has nothing visible or in flight (twice in a row, after the
    senders finished). Returns the time it was first seen empty and the peak depth."""
    deadline = time.monotonic() + timeout_s
    peak, empty_since = 0, None
    while time.monotonic() < deadline:
        # moto computes every queue attribute by scanning the whole queue: poll a deep queue
        # sparingly (polling every 0.2 s cost the runtime about a tenth of its CPU)
        visible, in_flight = queues.depth("alert-ingest")
        peak = max(peak, visible + in_flight)
        if visible == 0 and in_flight == 0 and not sending.is_set():
            if empty_since is not None:
                return empty_since, peak
            empty_since = time.perf_counter()
        else:
            empty_since = None
        depth = visible + in_flight
        time.sleep(0.5 if depth == 0 else 1.0 if depth < 100 else 5.0)
    raise TimeoutError(f"alert-ingest not drained within {timeout_s} s (peak depth {peak})")


def _api_pages(client: Any, path: str, key: str, params: dict[str, str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        query = dict(params, limit="200", **({"next_token": token} if token else {}))
        resp = client.get(path, params=query)
        if resp.status_code != 200:
            raise RuntimeError(f"GET {path}: {resp.status_code} {resp.text[:500]}")
        body = resp.json()
        out.extend(body[key])
        token = body.get("next_token")
        if not token:
            return out


def _incident_alarm_ids(client: Any, incident_id: str) -> list[str]:
    out: list[str] = []
    token: str | None = None
    while True:
        query = {"alarms_limit": "500", **({"alarms_next_token": token} if token else {})}
        resp = client.get(f"/v1/incidents/{incident_id}", params=query)
        if resp.status_code != 200:
            raise RuntimeError(f"GET incident {incident_id}: {resp.status_code} {resp.text[:500]}")
        body = resp.json()["incident"]
        out.extend(a["alarm_id"] for a in body["alarms"])
        token = body.get("alarms_next_token")
        if not token:
            return out


def verify(
    storm: Storm, alarms: list[dict[str, Any]], incidents: list[dict[str, Any]]
) -> dict[str, Any]:
    """Compare the API's alarms and incidents with the storm's expectation."""
    exp = storm.expected
    by_labels = {
        json.dumps(a.labels, sort_keys=True): a.fingerprint for p in storm.groups for a in p.alerts
    }
    per_fp: dict[str, list[dict[str, Any]]] = defaultdict(list)
    strangers = 0
    for alarm in alarms:
        fp = by_labels.get(json.dumps(alarm.get("labels", {}), sort_keys=True))
        if fp is None or alarm.get("source") != SOURCE:
            strangers += 1
            continue
        per_fp[fp].append(alarm)
    everyone = exp.resolved | exp.open
    lost = sorted(everyone - per_fp.keys())
    duplicated = sorted(fp for fp, found in per_fp.items() if len(found) > 1)
    status = {fp: found[0]["status"] for fp, found in per_fp.items()}
    not_resolved = sorted(fp for fp in exp.resolved if fp in status and status[fp] != "resolved")
    not_open = sorted(fp for fp in exp.open if fp in status and status[fp] != "open")
    alarm_fp = {a["id"]: fp for fp, found in per_fp.items() for a in found}

    by_service: dict[str, list[dict[str, Any]]] = defaultdict(list)
    unmatched_incidents = 0
    for inc in incidents:
        fps = {alarm_fp.get(i) for i in inc.get("alarm_ids", [])}
        services = {s for s, e in exp.incidents.items() if fps & e["fingerprints"]}
        if len(services) != 1:
            unmatched_incidents += 1
            continue
        by_service[services.pop()].append(inc)
    wrong_members, wrong_status = [], []
    for service, e in exp.incidents.items():
        found = by_service.get(service, [])
        if len(found) != 1:
            continue
        inc = found[0]
        members = {alarm_fp.get(i) for i in inc["alarm_ids"]}
        if members != e["fingerprints"]:
            wrong_members.append(service)
        if (inc["status"] == "resolved") != e["resolved"]:
            wrong_status.append(f"{service}: {inc['status']}")
    services_without = sorted(s for s in exp.incidents if not by_service.get(s))
    services_with_several = sorted(s for s, found in by_service.items() if len(found) > 1)
    return {
        "alarms_listed": len(alarms),
        "alarms_not_from_storm": strangers,
        "lost_fingerprints": len(lost),
        "duplicated_fingerprints": len(duplicated),
        "expected_resolved_not_resolved": len(not_resolved),
        "expected_open_not_open": len(not_open),
        "incidents_listed": len(incidents),
        "incidents_expected": len(exp.incidents),
        "incidents_resolved": sum(1 for i in incidents if i["status"] == "resolved"),
        "services_without_incident": len(services_without),
        "services_with_several_incidents": len(services_with_several),
        "incidents_matching_no_single_service": unmatched_incidents,
        "incidents_with_wrong_alarms": len(wrong_members),
        "incidents_with_wrong_status": len(wrong_status),
        "examples": {
            "lost": lost[:5],
            "duplicated": duplicated[:5],
            "not_resolved": not_resolved[:5],
            "not_open": not_open[:5],
            "services_without": services_without[:5],
            "services_with_several": services_with_several[:5],
            "wrong_status": wrong_status[:5],
        },
    }


def run(args: argparse.Namespace) -> tuple[dict[str, Any], bool]:
    import httpx

    base = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=20)
    storm = generate(args.alerts, args.groups, args.seed, base)
    lanes = schedule(storm, args.threads)
    log_copy = ROOT / "bench" / "results" / "storm-server.log"
    with runtime(log_copy) as rt:
        admin = httpx.Client(
            base_url=rt.base_url, headers={"Authorization": f"Bearer {rt.token}"}, timeout=120
        )
        resp = admin.post("/v1/integration-keys", json={"name": "storm", "source": SOURCE})
        if resp.status_code != 201:
            raise RuntimeError(f"creating the integration key: {resp.status_code} {resp.text}")
        key = resp.json()["integration_key"]["key"]
        queues = Queues(rt.moto_url)
        sent, lock, sending = Sent(), threading.Lock(), threading.Event()
        workers = [
            threading.Thread(
                target=_send_lane, args=(rt.base_url, key, lane, sent, lock), daemon=True
            )
            for lane in lanes
        ]
        sending.set()
        began = time.perf_counter()
        for w in workers:
            w.start()

        posted: list[float] = []

        def join_all() -> None:
            for w in workers:
                w.join()
            posted.append(time.perf_counter())
            sending.clear()

        joiner = threading.Thread(target=join_all, daemon=True)
        joiner.start()
        drained_at, peak = _wait_drained(queues, args.timeout, sending)
        joiner.join()
        wall = drained_at - began
        post_wall = posted[0] - began
        window = {"from": rfc3339(base - timedelta(hours=1)), "to": rfc3339(datetime.now(UTC))}
        t0 = time.perf_counter()
        alarms = _api_pages(admin, "/v1/alarms", "alarms", {**window, "source": SOURCE})
        incidents = _api_pages(admin, "/v1/incidents", "incidents", window)
        for inc in incidents:  # members are paged on GET /v1/incidents/{id}
            inc["alarm_ids"] = _incident_alarm_ids(admin, inc["id"])
        verify_s = time.perf_counter() - t0
        dlq = {q: queues.depth(q) for q in ("alert-ingest-dlq",)}
        log = rt.output()
    checks = verify(storm, alarms, incidents)
    exp = storm.expected.summary()
    poison = log.count("poison record")
    ok = (
        not sent.errors
        and sent.statuses.get(202, 0) == len(storm.messages)
        and sent.accepted_alerts == exp["entries"]
        and checks["lost_fingerprints"] == 0
        and checks["duplicated_fingerprints"] == 0
        and checks["alarms_not_from_storm"] == 0
        and checks["expected_resolved_not_resolved"] == 0
        and checks["expected_open_not_open"] == 0
        and checks["incidents_listed"] == exp["incidents"]
        and checks["services_without_incident"] == 0
        and checks["services_with_several_incidents"] == 0
        and checks["incidents_with_wrong_alarms"] == 0
        and checks["incidents_with_wrong_status"] == 0
        and all(v == (0, 0) for v in dlq.values())
    )
    lat = sent.latencies
    result = {
        "alerts": exp["entries"],
        "groups": args.groups,
        "messages": len(storm.messages),
        "threads": args.threads,
        "seed": args.seed,
        "base_time": rfc3339(base),
        "expected": exp,
        "runtime_startup_s": round(rt.startup_s, 2),
        "wall_s": round(wall, 2),
        "posting_s": round(post_wall, 2),
        "alerts_per_s": round(exp["entries"] / wall, 1),
        "alarms_per_s": round(exp["alarms"] / wall, 1),
        "messages_per_s": round(len(storm.messages) / wall, 1),
        "webhook_latency_ms": {
            "p50": round(_percentile(lat, 0.50) * 1000, 1),
            "p95": round(_percentile(lat, 0.95) * 1000, 1),
            "max": round(max(lat) * 1000, 1) if lat else None,
            "mean": round(sum(lat) / len(lat) * 1000, 1) if lat else None,
        },
        "webhook_statuses": {str(k): v for k, v in sorted(sent.statuses.items())},
        "webhook_errors": sent.errors[:20],
        "accepted_alerts": sent.accepted_alerts,
        "queue_peak_depth": peak,
        "dlq_depth": {k: list(v) for k, v in dlq.items()},
        "poison_records_logged": poison,
        "verify_api_s": round(verify_s, 2),
        "checks": checks,
        "all_checks_passed": ok,
    }
    return result, ok


def summary(r: dict[str, Any]) -> str:
    e, c, lat = r["expected"], r["checks"], r["webhook_latency_ms"]
    verdict = "PASS" if r["all_checks_passed"] else "FAIL"
    lines = [
        f"## Alert storm through the local runtime ({verdict})\n",
        table(
            [
                "alerts",
                "groups",
                "webhooks",
                "threads",
                "wall s",
                "alerts/s",
                "alarms/s",
                "webhook p50 ms",
                "p95 ms",
                "max ms",
            ],
            [
                [
                    f"{r['alerts']:,}",
                    r["groups"],
                    r["messages"],
                    r["threads"],
                    r["wall_s"],
                    r["alerts_per_s"],
                    r["alarms_per_s"],
                    lat["p50"],
                    lat["p95"],
                    lat["max"],
                ]
            ],
        ),
        "",
        table(
            ["check", "expected", "found"],
            [
                ["alarms (one per fingerprint)", e["alarms"], c["alarms_listed"]],
                ["lost fingerprints", 0, c["lost_fingerprints"]],
                ["duplicated fingerprints", 0, c["duplicated_fingerprints"]],
                ["resolved alarms not resolved", 0, c["expected_resolved_not_resolved"]],
                ["open alarms not open", 0, c["expected_open_not_open"]],
                ["incidents (one per service)", e["incidents"], c["incidents_listed"]],
                [
                    "incidents resolved (solo services)",
                    e["incidents_resolved"],
                    c["incidents_resolved"],
                ],
                ["incidents with the wrong alarms", 0, c["incidents_with_wrong_alarms"]],
                ["alerts accepted (202)", e["entries"], r["accepted_alerts"]],
                ["alert-ingest DLQ", 0, sum(r["dlq_depth"]["alert-ingest-dlq"])],
            ],
        ),
        "",
        f"Storm: {e['creates']} first firings, {e['repeats']} repeats with a later startsAt, "
        f"{e['renotifications']} re-notifications (same startsAt), {e['resolves']} resolves; "
        f"queue peak depth {r['queue_peak_depth']}; runtime started in "
        f"{r['runtime_startup_s']} s; API verification {r['verify_api_s']} s.",
    ]
    return "\n".join(lines)


def _interrupted(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=10_000)
    parser.add_argument("--groups", type=int, default=200)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument(
        "--timeout", type=float, default=3600, help="seconds to wait for the queue to drain"
    )
    args = parser.parse_args(argv)
    # SIGTERM (and SIGINT, which a background job ignores) unwind, so the runtime is stopped
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _interrupted)
    started = time.perf_counter()
    result, ok = run(args)
    report("storm", result, summary(result), started)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
