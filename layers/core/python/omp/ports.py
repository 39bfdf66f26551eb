"""The ports the services depend on. Adapters implement them; tests pass in-memory fakes."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Protocol

from omp.analytics.correlation import Group
from omp.domain.alarms import Alarm, AlarmQuery, AlarmStatus
from omp.domain.anomaly import DetectorState, SeriesPoints, StoredBaseline
from omp.domain.audit import AuditEntry, AuditQuery
from omp.domain.dedup import AlertState, RepeatUpdate, TimelineEntry
from omp.domain.events import DomainEvent
from omp.domain.incidents import Incident, IncidentAlarm, IncidentStatus
from omp.domain.inhibition import InhibitionRuleRecord
from omp.domain.metric_sources import MetricSource
from omp.domain.metrics import Point as MetricPoint
from omp.domain.metrics import SeriesRecord
from omp.domain.pagination import DEFAULT_LIMIT, Page
from omp.domain.queries import TimeRange
from omp.domain.silences import MaintenanceWindow, Silence, SilenceRecord, SilenceState


class Clock(Protocol):
    def now(self) -> datetime: ...


class EventPublisher(Protocol):
    def publish(self, events: Sequence[DomainEvent]) -> None: ...


class AlarmRepository(Protocol):
    def put_new(self, alarm: Alarm) -> None:
        """Store a new alarm; `Conflict` if the id exists."""

    def get(self, alarm_id: str) -> Alarm | None: ...

    def change_status(
        self,
        alarm_id: str,
        target: AlarmStatus,
        changes: dict[str, Any],
        *,
        expected_version: int | None,
        entry: TimelineEntry | None = None,
    ) -> Alarm:
        """One conditional write; `NotFound`, `Conflict` (INVALID_TRANSITION, VERSION_CONFLICT).
        `entry` (a person's change) goes on the alarm's timeline in that same write."""

    def people_timeline(self, alarm_id: str) -> list[TimelineEntry] | None:
        """The entries `change_status` kept, oldest first; None when there is no such alarm."""

    def list(self, query: AlarmQuery) -> Page[Alarm]: ...


class AuditLog(Protocol):
    def record(self, entry: AuditEntry) -> bool:
        """Store once; False when this entry was already recorded (a redelivery)."""

    def list(self, query: AuditQuery) -> Page[AuditEntry]: ...


class ApiKeyStore(Protocol):
    def find(self, key_hash: str) -> dict[str, Any] | None: ...

    def put(self, key_hash: str, record: dict[str, Any]) -> None: ...


class IntegrationKeyStore(ApiKeyStore, Protocol):
    def create(self, key_hash: str, record: dict[str, Any]) -> None:
        """Store a new key and its id pointer together; `Conflict` if either exists."""

    def get(self, key_id: str) -> dict[str, Any] | None: ...

    def list(self, limit: int, next_token: str | None) -> Page[dict[str, Any]]: ...

    def revoke(self, key_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Mark revoked (idempotent); `NotFound` for an unknown id. Returns the record."""


class AlertStateStore(Protocol):
    """The dedup state of alert instances, keyed by (source, fingerprint), and alarm timelines.

    Writes follow `omp.domain.dedup.Decision`: `put` for every state change, `repeat` for a
    repeat (one conditional update), `append_timeline` for the decision's entries."""

    def get(self, source: str, fingerprint: str) -> AlertState | None: ...

    def put(
        self,
        state: AlertState,
        expected_version: int | None,
        timeline: Sequence[TimelineEntry] = (),
    ) -> None:
        """One conditional write: stored `version == expected_version`, or no item at all when
        `expected_version` is None; `Conflict` when the condition fails. `timeline` entries
        are written in the same write (both or neither), as `append_timeline` keys them."""

    def repeat(self, source: str, fingerprint: str, update: RepeatUpdate) -> bool:
        """One conditional update of the state of (source, fingerprint), as `RepeatUpdate`
        describes (it names the alarm, not the state item: hence the key). False when its
        condition failed (a replay, a stale read, a resolved or reopened alarm): the caller
        re-reads and re-applies."""

    def append_timeline(self, entries: Sequence[TimelineEntry]) -> None:
        """Idempotent: appending the same entries again stores them once."""

    def timeline(
        self,
        alarm_id: str,
        limit: int = DEFAULT_LIMIT,
        next_token: str | None = None,
        people: Sequence[TimelineEntry] = (),
    ) -> Page[TimelineEntry]:
        """An alarm's timeline, oldest first, with `people` (`AlarmRepository.people_timeline`)
        merged in; a stored entry with the same key replaces one of them."""

    def flapping(
        self, limit: int = DEFAULT_LIMIT, next_token: str | None = None
    ) -> Page[AlertState]:
        """The states marked flapping (what the `settle` sweep reads), longest quiet first."""


class IncidentRepository(Protocol):
    """Incident summaries and their members (`IncidentAlarm`s), stored apart so an incident
    takes any number of alarms (docs/noise-reduction.md, "Storage")."""

    def get(self, incident_id: str) -> Incident | None: ...

    def put_new(self, incident: Incident, alarms: Sequence[IncidentAlarm]) -> None:
        """Store a new incident and its first members; `Conflict` (INCIDENT_EXISTS) if the id
        exists."""

    def save(self, incident: Incident, expected_version: int) -> None:
        """The summary, one conditional write on the stored version; `NotFound`, `Conflict`."""

    def add_alarm(self, incident: Incident, expected_version: int, alarm: IncidentAlarm) -> bool:
        """The member and the summary in one atomic write: the member on "not exists", the
        summary on the version. False (nothing written) when the alarm is a member already;
        `Conflict` when the version moved on."""

    def update_alarm(
        self,
        incident: Incident,
        expected_version: int,
        alarm: IncidentAlarm,
        holder_id: str | None = None,
    ) -> None:
        """The member's `resolved` and the summary in one atomic write. `holder_id`: the
        incident whose partition still holds the member (a merged one whose members are being
        moved), default `incident`'s. `Conflict` when either changed."""

    def alarm(self, incident_id: str, alarm_id: str) -> IncidentAlarm | None: ...

    def alarms_of(self, incident_id: str, alarm_ids: Sequence[str]) -> dict[str, IncidentAlarm]:
        """Those of `alarm_ids` that are members, by id."""

    def alarms(
        self, incident_id: str, limit: int = DEFAULT_LIMIT, next_token: str | None = None
    ) -> Page[IncidentAlarm]:
        """The members, by alarm id (ULIDs: trigger time order)."""

    def save_all(self, writes: Sequence[tuple[Incident, int | None]]) -> None:
        """Several summaries as one transaction (a merge's commit): each `(incident,
        expected_version)`, None for a new one; `Conflict` when any condition fails, and
        nothing is written."""

    def split(
        self,
        remaining: Incident,
        expected_version: int,
        new: Incident,
        moving: Sequence[IncidentAlarm],
    ) -> None:
        """One transaction: both summaries and the moved members (at most MAX_SPLIT)."""

    def move_alarms(self, source_id: str, target_id: str) -> int:
        """Relocate every member of `source_id` (merged into `target_id`, which took its
        counters) to `target_id`, in chunks; idempotent, so a retry finishes a move a crash
        cut short. Returns how many moved."""

    def list(
        self,
        window: TimeRange,
        status: IncidentStatus | None = None,
        limit: int = DEFAULT_LIMIT,
        next_token: str | None = None,
    ) -> Page[Incident]:
        """Incidents opened within `window`, newest first."""


class CorrelationGroupStore(Protocol):
    """What `omp.analytics.correlation.MemoryGroupStore` does, durably (a `GroupView`)."""

    def group(self, key: str) -> Group | None: ...

    def groups_with_resource(self, resource: str) -> Iterable[Group]:
        """Groups that are not closed and hold `resource`."""

    def save(self, group: Group, new_resources: Iterable[str] | None = None) -> None:
        """Write the group (last writer wins). `new_resources`: resources to add to its resource
        index (a decision's `new_resources`); None: the group's own `resources` (a group built
        whole). A closed group leaves the index."""

    def delete(self, key: str) -> None: ...

    def pending(self) -> list[Group]: ...


# ---- silences, maintenance windows, inhibition rules (omp.services.silences) -----------------


class SilenceStore(Protocol):
    def put_new(self, record: SilenceRecord) -> None:
        """Store a new silence; `Conflict` (SILENCE_EXISTS) if the id exists."""

    def get(self, silence_id: str) -> SilenceRecord | None: ...

    def save(self, record: SilenceRecord, expected_version: int) -> SilenceRecord:
        """Write the silence's times on the stored version (version + 1; the flags are kept);
        `NotFound`, `Conflict`."""

    def unexpired(self, now: datetime) -> list[Silence]:
        """Every pending or active silence at `now` (what the alert consumer loads)."""

    def ending_between(self, start: datetime, end: datetime) -> list[SilenceRecord]:
        """Silences whose `ends_at` lies in `[start, end]` (the expiry sweep's read)."""

    def mark(self, silence_id: str, flag: str, at: datetime) -> bool:
        """Set `flag` (`warned_at`, `expiry_announced_at`) only if it is unset: False when it
        was already set (another sweep claimed it) or the silence is gone."""

    def unmark(self, silence_id: str, flag: str) -> None:
        """Clear `flag` again (a publish after the claim failed; the next sweep retries)."""

    def list(
        self,
        state: SilenceState | None,
        now: datetime,
        limit: int = DEFAULT_LIMIT,
        next_token: str | None = None,
    ) -> Page[SilenceRecord]:
        """Silences in `state` at `now` (all without), latest `ends_at` first."""


class MaintenanceWindowStore(Protocol):
    def put_new(self, window: MaintenanceWindow) -> None: ...

    def get(self, window_id: str) -> MaintenanceWindow | None: ...

    def delete(self, window_id: str) -> MaintenanceWindow:
        """Remove and return it; `NotFound` (MAINTENANCE_WINDOW_NOT_FOUND)."""

    def all(self) -> list[MaintenanceWindow]: ...

    def list(
        self, limit: int = DEFAULT_LIMIT, next_token: str | None = None
    ) -> Page[MaintenanceWindow]:
        """Newest first."""


class InhibitionRuleStore(Protocol):
    def put_new(self, record: InhibitionRuleRecord) -> None: ...

    def get(self, rule_id: str) -> InhibitionRuleRecord | None: ...

    def delete(self, rule_id: str) -> InhibitionRuleRecord:
        """Remove and return it; `NotFound` (INHIBITION_RULE_NOT_FOUND)."""

    def all(self) -> list[InhibitionRuleRecord]: ...

    def list(
        self, limit: int = DEFAULT_LIMIT, next_token: str | None = None
    ) -> Page[InhibitionRuleRecord]:
        """Oldest first: the order the rules apply in."""


# ---- metrics (omp.services.metrics; the baseline refit reads series through MetricStore) -----


class MetricStore(Protocol):
    """Metric points in 10-minute buckets and the series registry (omp.adapters.dynamo_metrics).

    Reads return numpy arrays: `timestamps` int64 epoch seconds, ascending, unique; `values`
    float64 of the same length. A refit job reads a series' recent history with
    `read_last(series_id, n, end)` (newest buckets first, stops once `n` points are read: about
    `n / points-per-10-minutes` item reads) or a fixed window with
    `read(series_id, start, end)`, and finds the series worth refitting with
    `list_series(active_since=...)`."""

    def read(self, series_id: str, start: int, end: int) -> tuple[Any, Any]:
        """Points with `start <= timestamp <= end` (epoch seconds): (timestamps, values)."""

    def read_points(self, series_id: str, start: int, end: int) -> tuple[list[int], list[float]]:
        """As `read`, in plain lists (the query route does without numpy)."""

    def read_last(self, series_id: str, n: int, end: int) -> tuple[Any, Any]:
        """The last `n` points at or before `end`, oldest first (fewer if the series is short)."""

    def write(self, points: Sequence[MetricPoint]) -> list[tuple[MetricPoint, float]]:
        """Store points (one UpdateItem per bucket touched, per up to 100 points); a second
        already stored keeps its first value. Returns the points refused for that reason with
        the stored value (a point equal to the stored value is an idempotent repeat, not
        returned)."""

    def get_series(self, series_ids: Sequence[str]) -> dict[str, SeriesRecord]:
        """Registered series among `series_ids` (unknown ids are left out)."""

    def register(self, records: Sequence[SeriesRecord], max_series_per_source: int) -> set[str]:
        """Register new series, each counted against its source; returns the ids registered
        (or registered concurrently by another writer). An id left out: its source is at its
        limit."""

    def touch(self, series_ids: Sequence[str], now: int) -> None:
        """Set `last_seen` of registered series."""

    def list_series(
        self,
        *,
        name_prefix: str | None = None,
        dimension: tuple[str, str] | None = None,
        source: str | None = None,
        active_since: int | None = None,
        limit: int = DEFAULT_LIMIT,
        next_token: str | None = None,
    ) -> Page[SeriesRecord]:
        """Registered series by name (then id), filtered."""


class MetricSourceStore(Protocol):
    """Configured CloudWatch pulls (`/v1/metric-sources`)."""

    def put_new(self, source: MetricSource) -> None: ...

    def get(self, source_id: str) -> MetricSource | None: ...

    def delete(self, source_id: str) -> MetricSource:
        """Remove and return it; `NotFound` (METRIC_SOURCE_NOT_FOUND)."""

    def list(self, limit: int = DEFAULT_LIMIT, next_token: str | None = None) -> Page[MetricSource]:
        """Oldest first."""

    def record_run(self, source_id: str, run: dict[str, Any]) -> None:
        """Remember the last pull's outcome on the source (no error if it was deleted)."""


class CloudWatchMetrics(Protocol):
    def get_metric_data(
        self, queries: Sequence[dict[str, Any]], start: int, end: int
    ) -> dict[str, list[tuple[int, float]]]:
        """GetMetricData (every page): query id -> [(epoch seconds, value)]."""


class BaselineStore(Protocol):
    """Fitted baselines, detector state and detector settings (omp.adapters.dynamo_baselines)."""

    def put_baselines(self, baselines: Sequence[StoredBaseline]) -> None:
        """Store each series' baseline, bumping its version."""

    def get_baseline(self, series_id: str) -> StoredBaseline | None: ...

    def get_fit_info(self, series_ids: Sequence[str]) -> dict[str, tuple[int, int]]:
        """{series id: (fitted_at, points the baseline saw)} of those with a baseline."""

    def get_models(
        self, series_ids: Sequence[str]
    ) -> dict[str, tuple[StoredBaseline | None, DetectorState | None]]:
        """Baseline and detector state of every series in one batched read."""

    def put_state(self, state: DetectorState) -> int:
        """Conditional on `state.version` (0: none stored); `Conflict` if it moved."""

    def get_config(self) -> dict[str, Any] | None:
        """{config, version, updated_at, updated_by} of the detector settings, or None."""

    def put_config(
        self, config: dict[str, Any], expected_version: int, *, actor: str, now: datetime
    ) -> dict[str, Any]:
        """Conditional on `expected_version` (0: none stored); `Conflict` (VERSION_CONFLICT)."""

    def get_refit_cursor(self) -> str | None: ...

    def put_refit_cursor(self, next_token: str | None) -> None: ...

    def open_alarms(
        self, scored_before: int, *, limit: int = 100, next_token: str | None = None
    ) -> Page[DetectorState]:
        """States with an open anomaly alarm last scored before `scored_before`, oldest first
        (a sparse index: eventually consistent; the states come without `detector`)."""

    def get_alarm_states(self, series_ids: Sequence[str]) -> dict[str, DetectorState]:
        """Consistent reads of the states (without `detector`) of the series that have one."""

    def clear_alarm(self, series_id: str, expected_version: int) -> int:
        """Close the open alarm if the state is still at `expected_version`; the new version.
        `Conflict` if it moved."""


class MetricPointsQueue(Protocol):
    """Accepted points on their way to the anomaly scorer (the `metric-points` queue)."""

    def send(self, series: Sequence[SeriesPoints]) -> int:
        """Queue the points grouped by series; the number of messages sent."""


# ---- cmdb -------------------------------------------------------------------------------------


class CiTypeRepository(Protocol):
    def get(self, name: str) -> Any:
        """A user CI type (`omp.domain.cmdb.types.CiType`) or None."""

    def list(self, limit: int = DEFAULT_LIMIT, next_token: str | None = None) -> Page[Any]: ...

    def put(self, ci_type: Any, expected_version: int | None) -> None:
        """Create (None: `Conflict` CI_TYPE_EXISTS if taken) or replace at a version."""


class CiRepository(Protocol):
    """CIs, their claims (natural key, unique values), index entries and history records."""

    def get(self, ci_id: str) -> Any:
        """(Ci, head hash of its history chain) or None."""

    def get_many(self, ci_ids: list[str]) -> dict[str, Any]: ...

    def find_by_key(self, type_name: str, natural_key: str) -> Any: ...

    def holder(self, type_name: str, attribute: str, value: Any) -> str | None:
        """The id of the CI holding a unique attribute's value."""

    def find_by_attribute(
        self, type_name: str, attribute: str, value: Any, limit: int, next_token: str | None
    ) -> Page[Any]: ...

    def list(
        self, type_name: str | None, status: str | None, limit: int, next_token: str | None
    ) -> Page[Any]: ...

    def history(self, ci_id: str, limit: int, next_token: str | None) -> Page[dict[str, Any]]: ...

    def all_history(self, ci_id: str) -> builtins.list[dict[str, Any]]: ...

    def write(self, after: Any, before: Any, record: Any, ci_type: Any) -> None:
        """The CI version, its history record and its claims in one transaction; `Conflict`
        (VERSION_CONFLICT, CI_EXISTS, UNIQUE_VIOLATION) and nothing written when one fails."""

    # imports: many CIs per request (omp.services.cmdb_import)
    def find_many_by_key(
        self, keys: builtins.list[tuple[str, str]]
    ) -> dict[tuple[str, str], tuple[Any, str]]: ...

    def write_many(self, writes: builtins.list[tuple[Any, Any, Any, Any]]) -> None:
        """Several `write`s in one transaction, all or nothing (`Conflict` if one fails)."""

    def write_keys(
        self, after: Any, before: Any, record: Any, ci_type: Any
    ) -> builtins.list[tuple[str, str]]: ...


class CiChanges(Protocol):
    """Which CIs changed, for anchoring their history heads: omp.adapters.cmdb_anchors."""

    def changed(
        self, after: str, upto: str, limit: int
    ) -> tuple[builtins.list[dict[str, Any]], str]: ...

    def all_cis(
        self, start_key: dict[str, Any] | None, limit: int
    ) -> tuple[builtins.list[dict[str, Any]], dict[str, Any] | None]: ...


class AnchorStore(Protocol):
    """Anchors of CI history heads in the Object Lock bucket: omp.adapters.cmdb_anchors."""

    def latest(self) -> dict[str, Any] | None: ...

    def anchors(
        self, limit: int, start_after: str | None = None
    ) -> builtins.list[dict[str, Any]]: ...

    def put_anchor(self, anchor: dict[str, Any]) -> None: ...

    def put_heads(self, anchor: dict[str, Any]) -> None: ...

    def latest_head(self, ci_id: str) -> dict[str, Any] | None: ...


class Graph(Protocol):
    """The CI topology (Neptune, gremlite locally): see omp.adapters.gremlin_graph."""

    round_trips: int

    def upsert_vertex(self, ci_id: str, type_name: str, name: str, status: str) -> None: ...

    def update_vertex(self, ci_id: str, name: str, status: str) -> None: ...

    def add_edge(
        self, rel_id: str, source: str, relation: str, target: str, props: dict[str, str]
    ) -> None: ...

    def find_edges(
        self, source: str, relation: str, target: str | None = None
    ) -> list[dict[str, Any]]: ...

    def get_edge(self, rel_id: str) -> dict[str, Any] | None: ...

    def remove_edge(self, rel_id: str) -> None: ...

    def hop(
        self, ci_ids: list[str], out_types: list[str] | None, in_types: list[str] | None
    ) -> list[dict[str, Any]]: ...

    def vertices(self, ci_ids: list[str]) -> dict[str, dict[str, Any]]: ...

    def ensure_vertices(self, rows: dict[str, tuple[str, str, str]]) -> int: ...

    def update_vertices(self, rows: dict[str, tuple[str, str]]) -> None: ...

    def edge_sources(self, rel_ids: builtins.list[str]) -> dict[str, str]: ...

    def add_edges(
        self, edges: builtins.list[tuple[str, str, str, str, dict[str, str]]]
    ) -> None: ...


class SearchIndex(Protocol):
    """Full text (SQLite FTS5 locally, OpenSearch in AWS): omp.adapters.sqlite_search."""

    def put(self, index: str, doc_id: str, text: str, filters: dict[str, str]) -> None: ...

    def put_many(
        self, index: str, docs: builtins.list[tuple[str, str, dict[str, str]]]
    ) -> None: ...

    def delete(self, index: str, doc_id: str) -> None: ...

    def search(
        self, index: str, text: str, filters: dict[str, str], limit: int
    ) -> builtins.list[tuple[str, float]]: ...
