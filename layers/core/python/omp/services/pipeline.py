"""The alert pipeline: one ingest envelope -> signals -> dedup -> alarms, incidents, events.

`process(envelope, ports, config)` resolves the payload (inline, or offloaded to S3), normalises
it with the envelope's source (dated with the envelope's `received_at`, so a redelivery gives
identical signals and identical ids), then applies each signal (`process_signal`):

- read the `AlertState`, `dedup.apply`, and carry out the `Decision`:
  CREATE      alarm (the Alarm API's model and repository) + correlation + timeline + events,
              then the state put ("not exists");
  REPEAT      exactly one store call, `AlertStateStore.repeat`, and nothing else;
  RESOLVE     alarm -> resolved (the repository's conditional change), the incident's alarm
              resolved (auto-resolve closes the incident and its correlation group), events,
              then the state put on its version;
  ACKNOWLEDGE alarm -> acknowledged, `AlarmAcknowledged`, the state put (incidents are
              acknowledged by people, not by a source);
  REOPEN      a new alarm (linked to the previous one through its timeline and the event's
              `previous_alarm_id`) correlated afresh, or, while flapping, the SAME alarm reopened
              through `AlarmReopener` (the Alarm API forbids resolved -> open; this internal
              path is the only one that may do it), back in its incident if that is active;
  IGNORE      nothing.
- The state write comes LAST: it is the commit point. Every step before it is idempotent
  (derived ids, "already exists" / "already in that status" tolerated, `add_alarm` a no-op for
  an alarm already there), so a crash or a failed write anywhere leaves the state unchanged and
  the redelivered message does the whole step again. Events go out before the commit: a crash
  between the two repeats an event, never loses one (consumers are at-least-once anyway).
- `Conflict` (a racing consumer, a stale read): re-read and re-apply once; a second conflict
  fails the record and SQS redelivers it.

Finding an alarm's incident: every correlation appends a `correlated` entry to the alarm's
timeline whose note is the correlation group key; the group names the incident (or still holds
the alarm pending). A resolve or flapping reopen reads the timeline's last such entry.

Suppression: a new or reopened alarm is asked of `config.suppression` (silences, maintenance
windows, inhibition rules: `omp.services.suppression`); when something holds it, the alarm is
stored all the same, with `suppressed` and `suppressed_by` (the ids), and its event says
`notify: false`. Nothing is dropped.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from omp import sources
from omp.analytics import correlation
from omp.analytics.correlation import AlarmFacts, CorrelationDecision, LabelGroupRule, Outcome
from omp.domain import alarms as alarm_domain
from omp.domain import dedup, incidents
from omp.domain.alarms import Alarm, AlarmStatus, Severity
from omp.domain.dedup import Action, AlertState, Decision, DedupPolicy, TimelineEntry
from omp.domain.errors import Conflict, NotFound
from omp.domain.events import DomainEvent
from omp.domain.incidents import Incident, IncidentPolicy, IncidentStatus
from omp.domain.ingest import IngestEnvelope
from omp.domain.signals import MAX_MESSAGE, MAX_NAME, Signal, UnparseablePayload
from omp.domain.timeutil import iso, utc

if TYPE_CHECKING:
    from omp.analytics.correlation import Rule
    from omp.ports import (
        AlarmRepository,
        AlertStateStore,
        Clock,
        CorrelationGroupStore,
        EventPublisher,
        IncidentRepository,
    )

# The timeline entry that records which correlation group an alarm went to (note: the key).
CORRELATED = "correlated"
MAX_ATTEMPTS = 2  # the first try and one re-read after a Conflict


class S3PayloadStore(Protocol):
    """Where a webhook offloaded a body too large for SQS (`IngestEnvelope.payload_s3`)."""

    def get(self, bucket: str, key: str) -> bytes:
        """The object's bytes; `UnparseablePayload` when it does not exist (no retry brings it
        back), `TransientError` for anything a retry may fix."""


class AlarmReopener(Protocol):
    """The pipeline-only move resolved -> open of a flapping alarm (same id)."""

    def reopen(self, alarm_id: str, changes: dict[str, Any]) -> Alarm:
        """One conditional write (status resolved -> open, `changes` set, resolution cleared,
        version + 1). An alarm already open is returned unchanged; `NotFound`; `Conflict`."""


class Suppression(Protocol):
    """The silences/inhibition hook, asked once per new or reopened alarm: the ids of the
    silences, maintenance windows and inhibition rules that hold it (its notifications held;
    the alarm is stored and shown as suppressed). Empty: not suppressed."""

    def suppressed(self, signal: Signal, state: AlertState) -> Sequence[str]: ...


class _NoSuppression:
    def suppressed(self, signal: Signal, state: AlertState) -> Sequence[str]:
        return ()


NO_SUPPRESSION: Suppression = _NoSuppression()


class ResourceResolver(Protocol):
    """The CMDB CI a new alarm is about (its resource, or labels such as `instance`), for the
    topology rule; None when no CI matches. `omp.adapters.cmdb_topology` implements it."""

    def ci_of(self, resource: str | None, labels: dict[str, str]) -> str | None: ...


# Without configuration: alarms with the same `service` label correlate, else those with the
# same `alertname` (Alertmanager's default grouping), within the default 30-minute window;
# anything else opens an incident of its own.
DEFAULT_RULES: tuple[Rule, ...] = (
    LabelGroupRule(name="service", by=("service",)),
    LabelGroupRule(name="alertname", by=("alertname",)),
)


@dataclass(frozen=True)
class PipelinePorts:
    states: AlertStateStore
    alarms: AlarmRepository
    reopener: AlarmReopener
    incidents: IncidentRepository
    groups: CorrelationGroupStore
    events: EventPublisher
    clock: Clock
    payloads: S3PayloadStore | None = None


@dataclass(frozen=True)
class PipelineConfig:
    dedup: DedupPolicy = field(default_factory=DedupPolicy)
    incident: IncidentPolicy = field(default_factory=IncidentPolicy)
    rules: tuple[Rule, ...] = DEFAULT_RULES
    suppression: Suppression = NO_SUPPRESSION
    # Set with a TopologyRule among `rules`: new alarms are resolved to their CI first.
    resources: ResourceResolver | None = None


@dataclass(frozen=True)
class SignalResult:
    fingerprint: str
    action: Action
    alarm_id: str | None
    reason: str


# ---- payload --------------------------------------------------------------------------------


def resolve_payload(envelope: IngestEnvelope, payloads: S3PayloadStore | None) -> dict[str, Any]:
    """The JSON body: inline, or read back from S3. `UnparseablePayload` when there is none or
    it is not a JSON object."""
    if envelope.payload_s3 is not None:
        pointer = envelope.payload_s3
        if not isinstance(pointer, dict) or not pointer.get("bucket") or not pointer.get("key"):
            raise UnparseablePayload("payload_s3 must name a bucket and a key")
        if payloads is None:
            raise RuntimeError("an offloaded payload needs the S3 payload store")
        raw = payloads.get(str(pointer["bucket"]), str(pointer["key"]))
        try:
            body = json.loads(raw)
        except ValueError as exc:
            raise UnparseablePayload(f"the offloaded payload is not JSON: {exc}") from exc
    else:
        body = envelope.payload
    if not isinstance(body, dict):
        raise UnparseablePayload("the payload is not a JSON object")
    return body


def received_at(envelope: IngestEnvelope) -> datetime:
    try:
        return utc(datetime.fromisoformat(envelope.received_at.replace("Z", "+00:00")))
    except ValueError as exc:
        raise UnparseablePayload(f"received_at is not an RFC 3339 time: {exc}") from exc


def normalise(envelope: IngestEnvelope, payload: dict[str, Any]) -> list[Signal]:
    """The envelope's source's normaliser; pagerduty and generic are dated with `received_at`
    where the body has no time of its own."""
    return sources.normalise(
        envelope.source, payload, received_at(envelope), envelope.fingerprint_labels
    )


# ---- the pipeline ---------------------------------------------------------------------------


def process(
    envelope: IngestEnvelope, ports: PipelinePorts, config: PipelineConfig | None = None
) -> list[SignalResult]:
    """Every signal of one envelope, in order. Raises `UnparseablePayload` for a payload no
    retry can fix, `Conflict`/`TransientError` for one a retry may."""
    config = config or PipelineConfig()
    payload = resolve_payload(envelope, ports.payloads)
    signals = normalise(envelope, payload)
    actor = envelope.principal or "pipeline"
    return [process_signal(s, ports, config, actor=actor) for s in signals]


def process_signal(
    signal: Signal, ports: PipelinePorts, config: PipelineConfig, *, actor: str = "pipeline"
) -> SignalResult:
    for attempt in range(MAX_ATTEMPTS):
        state = ports.states.get(signal.source, signal.fingerprint)
        decision = dedup.apply(state, signal, ports.clock.now(), config.dedup)
        try:
            _carry_out(signal, state, decision, ports, config, actor)
        except Conflict:
            if attempt + 1 == MAX_ATTEMPTS:
                raise
            continue
        return SignalResult(signal.fingerprint, decision.action, decision.alarm_id, decision.reason)
    raise AssertionError("unreachable")  # pragma: no cover


def _carry_out(
    signal: Signal,
    state: AlertState | None,
    decision: Decision,
    ports: PipelinePorts,
    config: PipelineConfig,
    actor: str,
) -> None:
    action = decision.action
    if action is Action.IGNORE:
        return
    if action is Action.REPEAT:
        assert decision.repeat is not None
        if not ports.states.repeat(signal.source, signal.fingerprint, decision.repeat):
            raise Conflict("the repeat's condition failed", code="VERSION_CONFLICT")
        return
    assert decision.state is not None and decision.alarm_id is not None
    now = ports.clock.now()
    new_state = decision.state
    timeline = list(decision.timeline)
    events: list[DomainEvent] = []

    if action is Action.CREATE or (action is Action.REOPEN and decision.new_alarm):
        new_state, held_by = _suppress(signal, new_state, config)
        alarm = _create_alarm(signal, decision.alarm_id, now, actor, ports.alarms, held_by)
        events.append(_alarm_event(alarm, actor, decision, new_state))
        _correlate(signal, decision.alarm_id, now, ports, config, actor, timeline, events)
    elif action is Action.REOPEN:
        new_state, held_by = _suppress(signal, new_state, config)
        # `triggered_at` stays the first trigger: the alarm's list index keys are built on it.
        changes = {"updated_at": iso(now)} | _suppression_fields(held_by)
        reopened = ports.reopener.reopen(decision.alarm_id, changes)
        events.append(_alarm_event(reopened, actor, decision, new_state))
        _rejoin(signal, decision.alarm_id, now, ports, config, actor, timeline, events)
    elif action in (Action.RESOLVE, Action.ACKNOWLEDGE):
        target = AlarmStatus.RESOLVED if action is Action.RESOLVE else AlarmStatus.ACKNOWLEDGED
        changed = _change_alarm(decision.alarm_id, target, now, actor, decision.reason, ports)
        if changed is not None:
            events.append(_alarm_event(changed, actor, decision, new_state))
        if action is Action.RESOLVE:
            _resolve_in_incident(decision.alarm_id, now, ports, config, events)

    if timeline:
        ports.states.append_timeline(timeline)
    if events:
        ports.events.publish(events)
    ports.states.put(new_state, decision.expected_version)  # the commit point


def _suppress(
    signal: Signal, state: AlertState, config: PipelineConfig
) -> tuple[AlertState, tuple[str, ...]]:
    held_by = tuple(config.suppression.suppressed(signal, state))
    return dedup.with_suppressed(state, bool(held_by)), held_by


def _suppression_fields(held_by: Sequence[str]) -> dict[str, Any]:
    return {"suppressed": bool(held_by), "suppressed_by": list(held_by)}


# ---- alarms ---------------------------------------------------------------------------------


def alarm_from_signal(signal: Signal, alarm_id: str, now: datetime, actor: str) -> Alarm:
    """The Alarm API's model for a signal's new alarm (`GET /v1/alarms` lists it)."""
    stamp = iso(now)
    return Alarm(
        id=alarm_id,
        name=(signal.name or signal.fingerprint)[:MAX_NAME],
        severity=Severity(signal.severity.value),
        message=signal.message[:MAX_MESSAGE],
        source=signal.source,
        resource=signal.resource,
        labels=dict(signal.labels),
        status=AlarmStatus.OPEN,
        triggered_at=iso(signal.observed_at),
        created_at=stamp,
        updated_at=stamp,
        created_by=actor,
        fingerprint=signal.fingerprint,
    )


def _create_alarm(
    signal: Signal,
    alarm_id: str,
    now: datetime,
    actor: str,
    repo: AlarmRepository,
    held_by: Sequence[str] = (),
) -> Alarm:
    alarm = alarm_from_signal(signal, alarm_id, now, actor)
    if held_by:
        alarm = alarm.model_copy(update=_suppression_fields(held_by))
    try:
        repo.put_new(alarm)
    except Conflict:
        # The id derives from (source, fingerprint, observed_at): an earlier attempt (or a
        # racing consumer) stored this very alarm.
        existing = repo.get(alarm_id)
        if existing is None:
            raise
        return existing
    return alarm


def _change_alarm(
    alarm_id: str,
    target: AlarmStatus,
    now: datetime,
    actor: str,
    reason: str,
    ports: PipelinePorts,
) -> Alarm | None:
    """The repository's conditional change; None when the alarm is already there (an earlier
    attempt, or a person through the API) or was never stored."""
    changes = alarm_domain.transition_changes(target, now=now, actor=actor, comment=reason)
    try:
        return ports.alarms.change_status(alarm_id, target, changes, expected_version=None)
    except NotFound:
        return None
    except Conflict as exc:
        if exc.code == "INVALID_TRANSITION":
            return None
        raise


def _alarm_event(alarm: Alarm, actor: str, decision: Decision, state: AlertState) -> DomainEvent:
    event = alarm_domain.event_for(alarm, actor)
    detail = event.detail | {
        "notify": decision.notify and not state.suppressed,
        "flapping": state.flapping,
        "suppressed": state.suppressed,
        "occurrences": state.occurrences,
        "reason": decision.reason,
    }
    if decision.previous_alarm_id:
        detail["previous_alarm_id"] = decision.previous_alarm_id
    return replace(event, detail=detail)


# ---- correlation and incidents --------------------------------------------------------------


def _facts(signal: Signal, alarm_id: str, config: PipelineConfig) -> AlarmFacts:
    labels = dict(signal.labels)
    ci_id = config.resources.ci_of(signal.resource, labels) if config.resources else None
    return AlarmFacts(
        alarm_id=alarm_id,
        at=signal.observed_at,
        severity=Severity(signal.severity.value),
        name=signal.name,  # bounded by `sources.normalise`, as every field
        resource=signal.resource,
        labels=labels,
        ci_id=ci_id,
    )


def _correlated_entry(signal: Signal, alarm_id: str, now: datetime, key: str) -> TimelineEntry:
    status = dedup.AlertStatus.OPEN
    return TimelineEntry(
        alarm_id=alarm_id,
        at=signal.observed_at,
        recorded_at=now,
        kind=CORRELATED,
        status=status,
        occurrences=1,
        note=key,
    )


def _correlate(
    signal: Signal,
    alarm_id: str,
    now: datetime,
    ports: PipelinePorts,
    config: PipelineConfig,
    actor: str,
    timeline: list[TimelineEntry],
    events: list[DomainEvent],
) -> None:
    """Join, open or hold, as the rules decide. A join to an incident that resolved in the
    meantime closes the stale group and correlates again (once)."""
    facts = _facts(signal, alarm_id, config)
    for _ in range(MAX_ATTEMPTS):
        decision = correlation.correlate(facts, config.rules, ports.groups, now)
        if decision.outcome is Outcome.JOIN and not _joinable(decision, ports):
            stale = ports.groups.group(decision.group.key)
            if stale is not None:
                ports.groups.save(correlation.close(stale))
            continue
        _apply_correlation(decision, now, ports, actor, events)
        timeline.append(_correlated_entry(signal, alarm_id, now, decision.group.key))
        return
    raise Conflict(f"alarm {alarm_id}: its group's incident keeps changing", code="CONFLICT")


def _joinable(decision: CorrelationDecision, ports: PipelinePorts) -> bool:
    incident = ports.incidents.get(decision.incident_id) if decision.incident_id else None
    return incident is not None and incident.active


def _apply_correlation(
    decision: CorrelationDecision,
    now: datetime,
    ports: PipelinePorts,
    actor: str,
    events: list[DomainEvent],
) -> None:
    if decision.outcome is Outcome.PENDING:
        ports.groups.save(decision.group, decision.new_resources)
        return
    assert decision.incident_id is not None
    before = ports.incidents.get(decision.incident_id)
    added: list[incidents.IncidentAlarm] = []
    if before is None:
        # OPEN (a JOIN found its incident above). A racing consumer's put_new -> Conflict.
        after = incidents.open_incident(
            incident_id=decision.incident_id,
            group_key=decision.group.key,
            alarms=decision.alarms,
            now=now,
            rule=decision.rule,
        )
        ports.incidents.put_new(after, decision.alarms)
        added = list(decision.alarms)
    else:
        after = before
        for member in decision.alarms:
            joined = incidents.add_alarm(after, member, now)
            # False: a member already (a redelivered join): nothing written, nothing counted.
            if ports.incidents.add_alarm(joined, after.version, member):
                after = joined
                added.append(member)
    ports.groups.save(decision.group, decision.new_resources)
    if after is not before:
        events.append(incidents.event_for(before, after, "correlation", added))


def _group_key_of(alarm_id: str, states: AlertStateStore) -> str | None:
    """The correlation group the alarm last went to (its last `correlated` timeline entry)."""
    key: str | None = None
    token: str | None = None
    while True:
        page = states.timeline(alarm_id, next_token=token)
        for entry in page.items:
            if entry.kind == CORRELATED:
                key = entry.note
        token = page.next_token
        if not token:
            return key


MAX_MERGE_HOPS = 8


def _merge_chain(incident_id: str | None, ports: PipelinePorts) -> list[Incident]:
    """The incident, then the one it was merged into, and so on (a chain of merges): the
    last one holds the alarm's counters now. A merge re-points the merged incident's group,
    but not groups that pointed at it through an earlier merge, nor a group a crash left
    un-pointed; and its member items move after the merge's commit, so for a while a member
    is still in an earlier incident's partition."""
    chain: list[Incident] = []
    next_id = incident_id
    for _ in range(MAX_MERGE_HOPS + 1):
        incident = ports.incidents.get(next_id) if next_id else None
        if incident is None:
            break
        chain.append(incident)
        if incident.status is not IncidentStatus.MERGED:
            break
        next_id = incident.merged_into
    return chain


def _member_in(
    chain: list[Incident], alarm_id: str, ports: PipelinePorts
) -> tuple[str, incidents.IncidentAlarm] | None:
    """Which incident of the chain holds the alarm's member item (the last one, usually)."""
    for incident in reversed(chain):
        member = ports.incidents.alarm(incident.id, alarm_id)
        if member is not None:
            return incident.id, member
    return None


def _resolve_in_incident(
    alarm_id: str,
    now: datetime,
    ports: PipelinePorts,
    config: PipelineConfig,
    events: list[DomainEvent],
) -> None:
    key = _group_key_of(alarm_id, ports.states)
    group = ports.groups.group(key) if key else None
    if group is None:
        return
    if group.is_pending:
        left = correlation.on_alarm_resolved(group, alarm_id)
        if left is None:
            ports.groups.delete(group.key)
        elif left != group:
            ports.groups.save(left, ())  # no new resources
        return
    chain = _merge_chain(group.incident_id, ports)
    found = _member_in(chain, alarm_id, ports) if chain else None
    if found is None:
        return
    holder, member = found
    incident = chain[-1]
    if incident.status is IncidentStatus.MERGED:
        return  # a chain longer than MAX_MERGE_HOPS
    after = incidents.alarm_resolved(incident, member, now, config.incident)
    if after is incident:
        return
    ports.incidents.update_alarm(after, incident.version, replace(member, resolved=True), holder)
    if incident.active and not after.active and not group.closed:
        ports.groups.save(correlation.close(group))
    events.append(incidents.event_for(incident, after, "correlation", [member]))


def _rejoin(
    signal: Signal,
    alarm_id: str,
    now: datetime,
    ports: PipelinePorts,
    config: PipelineConfig,
    actor: str,
    timeline: list[TimelineEntry],
    events: list[DomainEvent],
) -> None:
    """A flapping alarm reopened: unresolved again in its incident while that is active,
    otherwise correlated afresh (a resolved incident is not reopened)."""
    key = _group_key_of(alarm_id, ports.states)
    group = ports.groups.group(key) if key else None
    chain: list[Incident] = []
    if group is not None and group.is_active and group.incident_id:
        chain = _merge_chain(group.incident_id, ports)
    found = _member_in(chain, alarm_id, ports) if chain and chain[-1].active else None
    if found is not None:
        holder, member = found
        incident = chain[-1]
        after = incidents.alarm_reopened(incident, member, now)
        if after is not incident:
            reopened = replace(member, resolved=False)
            ports.incidents.update_alarm(after, incident.version, reopened, holder)
            events.append(incidents.event_for(incident, after, "correlation", [member]))
        return
    _correlate(signal, alarm_id, now, ports, config, actor, timeline, events)


def outcomes_summary(outcomes: Sequence[SignalResult]) -> dict[str, int]:
    """Counts by action, for the consumer's log line."""
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.action.value] = counts.get(o.action.value, 0) + 1
    return counts
