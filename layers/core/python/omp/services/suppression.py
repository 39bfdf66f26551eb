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

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from omp.domain.dedup import AlertState
from omp.domain.inhibition import InhibitionRuleRecord, explain_inhibition
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
    _firing: list[dict[str, str]] | None = field(default=None, init=False)
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

    def _firing_sources(self) -> list[dict[str, str]]:
        if self._firing is None:
            self._firing = active_alarm_labels(self.alarms(), self.clock.now(), self.scope)
        return self._firing + self._batch

    def suppressed(self, signal: Signal, state: AlertState) -> tuple[str, ...]:
        labels = signal_labels(signal)
        silences, windows, rules = self._load()
        now = self.clock.now()
        held = is_silenced(labels, silences, now, windows)
        if any(r.rule.is_target(labels) for r in rules):
            found = explain_inhibition(labels, self._firing_sources(), [r.rule for r in rules])
            if found is not None:
                held.append(rules[found.rule_index].id)
        if signal.status is SignalStatus.FIRING:
            self._batch.append(labels)
        return tuple(held)
