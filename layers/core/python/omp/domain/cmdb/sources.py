"""Per-attribute sources and the source priority that settles conflicts. Pure: no I/O.

A CI keeps `attribute_sources` (`{attribute: source}`: who set each value). When a change from
one source would overwrite a value another source set, the priority list for that attribute
decides: the higher source keeps its value and the lower one's value is recorded in the CI's
`conflicts` (and so in the history record of that version). Equal sources, and sources the
list does not name, behave as before priorities existed: the newer write wins.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DEFAULT_PRIORITY: tuple[str, ...] = ("manual", "api", "aws-config", "netbox")


@dataclass(frozen=True)
class SourcePriority:
    """Highest first. `by_type` and `by_attribute` (`"<type>.<attribute>"`) override the
    default; the most specific list applies."""

    default: tuple[str, ...] = DEFAULT_PRIORITY
    by_type: dict[str, tuple[str, ...]] = field(default_factory=dict)
    by_attribute: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def from_config(cls, config: dict[str, Any] | None) -> SourcePriority:
        """From the settings document `{default?, by_type?, by_attribute?}` (lists of names)."""
        if not config:
            return cls()
        return cls(
            default=tuple(config.get("default") or DEFAULT_PRIORITY),
            by_type={k: tuple(v) for k, v in (config.get("by_type") or {}).items()},
            by_attribute={k: tuple(v) for k, v in (config.get("by_attribute") or {}).items()},
        )

    def order(self, types: list[str], attribute: str) -> tuple[str, ...]:
        """The list for an attribute of a CI whose type chain is `types` (nearest first)."""
        for name in types:
            if f"{name}.{attribute}" in self.by_attribute:
                return self.by_attribute[f"{name}.{attribute}"]
        for name in types:
            if name in self.by_type:
                return self.by_type[name]
        return self.default

    def beats(self, order: tuple[str, ...], holder: str | None, challenger: str) -> bool:
        """Whether `holder`'s value stands against `challenger`'s: only when both are listed
        and the holder ranks higher."""
        if holder is None or holder == challenger:
            return False
        if holder not in order or challenger not in order:
            return False
        return order.index(holder) < order.index(challenger)


@dataclass(frozen=True)
class Merged:
    changes: dict[str, Any]  # what to apply (null removes)
    sources: dict[str, str]  # attribute -> source after the change (before validation)
    conflicts: dict[str, dict[str, Any]]  # attribute -> the value that lost, and who won


def holder_of(
    attribute: str, attribute_sources: dict[str, str], ci_sources: list[str]
) -> str | None:
    """Who set an attribute: recorded per attribute, or for a CI written before per-attribute
    sources were kept, its only source (None when it had several: unknown)."""
    if attribute in attribute_sources:
        return attribute_sources[attribute]
    return ci_sources[0] if len(ci_sources) == 1 else None


def merge(
    current: dict[str, Any],
    attribute_sources: dict[str, str],
    ci_sources: list[str],
    conflicts: dict[str, dict[str, Any]],
    changes: dict[str, Any],
    source: str,
    *,
    priority: SourcePriority,
    types: list[str],
    at: str,
) -> Merged:
    """Split `changes` from `source` into what is applied and what loses to a higher source.
    A value equal to the stored one changes no source (re-discovering a manual value is no
    change); a repeated losing value leaves the recorded conflict as it is."""
    applied: dict[str, Any] = {}
    owners = dict(attribute_sources)
    open_conflicts = dict(conflicts)
    for name, value in changes.items():
        holder = holder_of(name, attribute_sources, ci_sources)
        if current.get(name) == value or (value is None and name not in current):
            # agreement settles an open conflict on the attribute
            open_conflicts.pop(name, None)
            continue
        if priority.beats(priority.order(types, name), holder, source):
            lost = {"value": value, "source": source, "kept_source": holder}
            previous = open_conflicts.get(name)
            if previous is None or {k: previous.get(k) for k in lost} != lost:
                open_conflicts[name] = {**lost, "at": at}
            continue
        applied[name] = value
        open_conflicts.pop(name, None)
        if value is None:
            owners.pop(name, None)
        else:
            owners[name] = source
    return Merged(applied, owners, open_conflicts)
