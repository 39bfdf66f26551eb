"""Inhibition rules with Prometheus Alertmanager's semantics. Pure: no I/O.

A rule mutes *target* alerts while a *source* alert fires:

1. the target matches every target matcher (AND), else the rule does not apply;
2. some firing alert matches every source matcher (AND);
3. for every label name in `equal`, source and target carry the same value, where a missing
   label is "" (so a label absent on both sides counts as equal, as in Alertmanager);
4. if the target itself matches the source matchers too (a "two-sided" alert), sources that also
   match the target matchers are disregarded, so an alert never inhibits itself, and alerts of
   one class that match both sides never inhibit each other.

Only firing alerts inhibit (Alertmanager skips resolved ones in its source cache); the caller
passes the label sets of the currently firing alerts. An inhibited alarm is stored and shown as
suppressed, like a silenced one; only its notifications are held.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import ConfigDict, Field, StringConstraints

from omp.domain.matchers import LABEL_NAME, LabelName, Matcher, MatcherIn, matches_all
from omp.domain.model import Model

MAX_MATCHERS = 32
ID_PREFIX = "inh"


@dataclass(frozen=True)
class InhibitRule:
    source_matchers: tuple[Matcher, ...]
    target_matchers: tuple[Matcher, ...]
    equal: tuple[str, ...] = ()
    name: str = ""

    def __post_init__(self) -> None:
        for label in self.equal:
            if not LABEL_NAME.match(label):
                raise ValueError(f"invalid label name in equal: {label!r}")

    def is_source(self, labels: Mapping[str, str]) -> bool:
        return matches_all(self.source_matchers, labels)

    def is_target(self, labels: Mapping[str, str]) -> bool:
        return matches_all(self.target_matchers, labels)

    def inhibiting_source(
        self, target: Mapping[str, str], firing: Sequence[Mapping[str, str]]
    ) -> int | None:
        """The index in `firing` of the first alert that inhibits `target` by this rule."""
        if not self.is_target(target):
            return None
        two_sided = self.is_source(target)
        for index, source in enumerate(firing):
            if not self.is_source(source):
                continue
            if any(source.get(n, "") != target.get(n, "") for n in self.equal):
                continue
            if two_sided and self.is_target(source):
                continue
            return index
        return None


@dataclass(frozen=True)
class Inhibition:
    rule_index: int
    source_index: int  # which of the firing alerts inhibits


def explain_inhibition(
    target_labels: Mapping[str, str],
    firing_alerts_labels: Sequence[Mapping[str, str]],
    rules: Iterable[InhibitRule],
) -> Inhibition | None:
    """The first rule (in order) that inhibits the target, and the source alert that does."""
    for rule_index, rule in enumerate(rules):
        source = rule.inhibiting_source(target_labels, firing_alerts_labels)
        if source is not None:
            return Inhibition(rule_index, source)
    return None


def inhibited(
    target_labels: Mapping[str, str],
    firing_alerts_labels: Sequence[Mapping[str, str]],
    rules: Iterable[InhibitRule],
) -> int | None:
    """The index of the first rule that inhibits `target_labels`, or None."""
    found = explain_inhibition(target_labels, firing_alerts_labels, rules)
    return None if found is None else found.rule_index


class InhibitRuleIn(Model):
    """An inhibition rule in a request body. Unlike Alertmanager, both sides need at least one
    matcher: an empty side would match every alert, a rule that mutes the whole platform."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=256)] = ""
    source_matchers: list[MatcherIn] = Field(min_length=1, max_length=MAX_MATCHERS)
    target_matchers: list[MatcherIn] = Field(min_length=1, max_length=MAX_MATCHERS)
    equal: list[LabelName] = Field(default_factory=list, max_length=MAX_MATCHERS)

    def to_rule(self) -> InhibitRule:
        return InhibitRule(
            source_matchers=tuple(m.to_matcher() for m in self.source_matchers),
            target_matchers=tuple(m.to_matcher() for m in self.target_matchers),
            equal=tuple(dict.fromkeys(self.equal)),
            name=self.name,
        )


@dataclass(frozen=True)
class InhibitionRuleRecord:
    """A stored rule (`POST /v1/inhibition-rules`): rules apply in creation order."""

    id: str
    rule: InhibitRule
    created_by: str
    created_at: datetime

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.rule.name,
            "source_matchers": [m.to_dict() for m in self.rule.source_matchers],
            "target_matchers": [m.to_dict() for m in self.rule.target_matchers],
            "equal": list(self.rule.equal),
            "created_by": self.created_by,
            "created_at": self.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        }
