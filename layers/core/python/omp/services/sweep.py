"""The alert pipeline's scheduled sweep: what happens when no new alert arrives.

- Correlation `tick`: a pending group whose persist threshold (`open_after`) has passed opens
  its incident now, not at its next alarm (docs/noise-reduction.md, "Hold until N alarms or T").
- Flapping `settle`: a flapping alert with no state change for `flap_quiet` is stable again; its
  state is cleared, a `flapping_ended` entry goes on the alarm's timeline and the settled state
  is notified once (`notify` True), since no further message would clear it.

Both use the consumer's own steps (`omp.services.pipeline`), and both are idempotent: a group
that opened is no longer pending, and a settled state is written on its version (a racing
consumer's change wins; the next sweep looks again).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from omp.analytics import correlation
from omp.domain import dedup
from omp.domain.dedup import Action
from omp.domain.errors import Conflict
from omp.domain.events import DomainEvent
from omp.services import pipeline
from omp.services.pipeline import PipelineConfig, PipelinePorts

logger = logging.getLogger("omp.sweep")

ACTOR = "sweep"
PAGE = 100
MAX_SETTLED = 500  # per run: the schedule comes back in a minute


@dataclass(frozen=True)
class SweepResult:
    opened: int
    settled: int


def sweep(ports: PipelinePorts, config: PipelineConfig) -> SweepResult:
    return SweepResult(
        opened=open_due_groups(ports, config), settled=settle_flapping(ports, config)
    )


def open_due_groups(ports: PipelinePorts, config: PipelineConfig) -> int:
    now = ports.clock.now()
    opened = 0
    for decision in correlation.tick(ports.groups.pending(), config.rules, now):
        events: list[DomainEvent] = []
        try:
            # The consumer's own step: open the incident (or find it, after a crash), then
            # save the group bound to it.
            pipeline._apply_correlation(decision, now, ports, ACTOR, events)
        except Conflict:
            logger.info(
                "group %s changed while opening; the next sweep looks again", decision.group.key
            )
            continue
        if events:
            ports.events.publish(events)
        opened += 1
    return opened


def settle_flapping(ports: PipelinePorts, config: PipelineConfig) -> int:
    now = ports.clock.now()
    settled = 0
    token: str | None = None
    while settled < MAX_SETTLED:
        page = ports.states.flapping(limit=PAGE, next_token=token)
        for state in page.items:
            decision = dedup.settle(state, now, config.dedup)
            if decision.action is not Action.SETTLE:
                # Longest quiet first: the rest are still within their quiet period.
                return settled
            assert decision.state is not None and decision.alarm_id is not None
            alarm = ports.alarms.get(decision.alarm_id)
            if decision.timeline:
                ports.states.append_timeline(decision.timeline)
            if alarm is not None:
                event = pipeline._alarm_event(alarm, ACTOR, decision, decision.state)
                ports.events.publish([event])
            try:
                ports.states.put(decision.state, decision.expected_version)
            except Conflict:
                continue  # a source message changed it first: judged again next time
            settled += 1
        token = page.next_token
        if not token:
            break
    return settled
