"""The alert pipeline's `Suppression` port: silences, maintenance windows and inhibition rules.

One instance serves one consumer invocation (one SQS batch): the silences, windows and rules
are read at most once, on the first new or reopened alarm of the batch (a batch of repeats reads
nothing), and the active alarms that may inhibit are read at most once, only when some rule's
target side matches an alarm. Alarms raised earlier in the same batch count as firing sources
too (they are not in the read yet, or were raised after it).

An alarm is matched on `omp.domain.silences.match_labels` (its labels plus `alertname`,
`severity`, `source`). The answer is the ids that hold it, in this order: active silences,
open maintenance windows, then the first inhibition rule that applies (Alertmanager's order).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from omp.domain.dedup import AlertState
from omp.domain.inhibition import InhibitionRuleRecord, InhibitRule
from omp.domain.matchers import MatchType
from omp.domain.signals import Signal, SignalStatus
from omp.domain.silences import MaintenanceWindow, Silence, is_silenced, match_labels
from omp.services.silences import ActiveAlarms, active_alarm_labels

if TYPE_CHECKING:
    from omp.ports import (
        AlarmRepository,
        Clock,
        InhibitionRuleStore,
        MaintenanceWindowStore,
        SilenceStore,
    )


def signal_labels(signal: Signal) -> dict[str, str]:
    return match_labels(
        signal.labels,
        name=signal.name or signal.fingerprint,
        severity=signal.severity.value,
        source=signal.source,
    )


class SilenceIndex:
    """Silences bucketed by one equality matcher each (`alertname="DiskFull"`), so that an alert
    is matched against the silences that can match it rather than all of them. Same answer, in
    the same order, as `omp.domain.silences.is_silenced` (a test checks it on random input)."""

    def __init__(self, silences: Sequence[Silence]) -> None:
        self._by_label: dict[str, dict[str, list[tuple[int, Silence]]]] = {}
        self._rest: list[tuple[int, Silence]] = []
        for position, silence in enumerate(silences):
            pin = next((m for m in silence.matchers if m.type is MatchType.EQUAL), None)
            if pin is None:
                self._rest.append((position, silence))
            else:
                values = self._by_label.setdefault(pin.name, {})
                values.setdefault(pin.value, []).append((position, silence))

    def matching(self, labels: Mapping[str, str], now: datetime) -> list[str]:
        candidates = list(self._rest)
        for name, values in self._by_label.items():
            candidates += values.get(labels.get(name, ""), ())
        candidates.sort(key=lambda c: c[0])
        return [s.id for _, s in candidates if s.is_active(now) and s.matches(labels)]


class RuleIndex:
    """One inhibition rule's firing sources, bucketed by their `equal` label values, so that a
    target costs one lookup instead of a scan of every firing alert. Same answer as
    `omp.domain.inhibition.InhibitRule.inhibiting_source` (a test checks it on random input):
    a bucket records whether it holds any source, and any source that is not itself a target
    (what a two-sided target needs)."""

    def __init__(self, rule: InhibitRule) -> None:
        self.rule = rule
        self._buckets: dict[tuple[str, ...], list[bool]] = {}

    def _key(self, labels: Mapping[str, str]) -> tuple[str, ...]:
        return tuple(labels.get(name, "") for name in self.rule.equal)

    def add(self, labels: Mapping[str, str]) -> None:
        if not self.rule.is_source(labels):
            return
        bucket = self._buckets.setdefault(self._key(labels), [False, False])
        bucket[0] = True
        if not bucket[1] and not self.rule.is_target(labels):
            bucket[1] = True

    def inhibits(self, target: Mapping[str, str]) -> bool:
        """For a `target` that matches the rule's target side (the caller checked)."""
        bucket = self._buckets.get(self._key(target))
        if bucket is None:
            return False
        return bucket[1] if self.rule.is_source(target) else bucket[0]


@dataclass
class SilenceSuppression:
    """Ports are given as factories so that building this (once per invocation) reads and
    connects nothing; the first alarm that needs an answer does."""

    silences: Callable[[], SilenceStore]
    windows: Callable[[], MaintenanceWindowStore]
    rules: Callable[[], InhibitionRuleStore]
    alarms: Callable[[], AlarmRepository]
    clock: Clock
    scope: ActiveAlarms = field(default_factory=ActiveAlarms)
    _loaded: tuple[list[Silence], list[MaintenanceWindow], list[InhibitionRuleRecord]] | None = (
        field(default=None, init=False)
    )
    _indexes: list[RuleIndex] | None = field(default=None, init=False)
    _silence_index: SilenceIndex | None = field(default=None, init=False)
    _batch: list[dict[str, str]] = field(default_factory=list, init=False)

    def _load(self) -> tuple[list[Silence], list[MaintenanceWindow], list[InhibitionRuleRecord]]:
        if self._loaded is None:
            now = self.clock.now()
            self._loaded = (
                self.silences().unexpired(now),
                self.windows().all(),
                self.rules().all(),
            )
        return self._loaded

    def _rule_indexes(self) -> list[RuleIndex]:
        """Built on the first alarm some rule targets: the active alarms read once, plus the
        alarms raised earlier in this batch (and every later one as it comes)."""
        if self._indexes is None:
            indexes = [RuleIndex(r.rule) for r in self._load()[2]]
            firing = active_alarm_labels(self.alarms(), self.clock.now(), self.scope)
            for labels in firing + self._batch:
                for index in indexes:
                    index.add(labels)
            self._indexes = indexes
        return self._indexes

    def suppressed(self, signal: Signal, state: AlertState) -> tuple[str, ...]:
        labels = signal_labels(signal)
        silences, windows, rules = self._load()
        now = self.clock.now()
        if self._silence_index is None:
            self._silence_index = SilenceIndex(silences)
        held = self._silence_index.matching(labels, now)
        held += is_silenced(labels, (), now, windows)  # windows: few, each a cron check
        targeted = [n for n, r in enumerate(rules) if r.rule.is_target(labels)]
        if targeted:  # only then are the active alarms read
            indexes = self._rule_indexes()
            found = next((n for n in targeted if indexes[n].inhibits(labels)), None)
            if found is not None:
                held.append(rules[found].id)
        if signal.status is SignalStatus.FIRING:
            if self._indexes is None:
                self._batch.append(labels)
            else:
                for index in self._indexes:
                    index.add(labels)
        return tuple(held)
