"""EventBridge event-pattern matching, replacing moto's.

moto 5.1's `EventPattern.matches_event` ignores `anything-but` (matches everything), crashes on
`numeric` or `prefix` when the field is missing or not of the right type (failing the whole
PutEvents call), ANDs the alternatives of a list instead of ORing them, ignores numeric and
boolean literals and supports neither `suffix`, `equals-ignore-case`, `wildcard`, `cidr` nor
`$or`. `install()` swaps in this implementation, so moto's rules deliver with these semantics.

Semantics (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html):
every key of a pattern must match (AND); a list holds alternatives (OR); an array in the event
matches when any element does; only `{"exists": false}` matches a missing field.
"""

from __future__ import annotations

import ipaddress
import operator
import re
from collections.abc import Callable, Mapping
from typing import Any

from moto.events.models import EventPattern

_MISSING = object()
_NUMERIC: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    "=": operator.eq,
    ">=": operator.ge,
    ">": operator.gt,
}


def matches(pattern: Mapping[str, Any], event: Any) -> bool:
    """Whether `event` (a dict, as delivered) matches the EventBridge `pattern`."""
    for key, sub in pattern.items():
        if key == "$or":
            if not any(matches(alt, event) for alt in sub):
                return False
            continue
        value = event.get(key, _MISSING) if isinstance(event, dict) else _MISSING
        if isinstance(sub, dict):
            if not matches(sub, value if isinstance(value, dict) else {}):
                return False
        elif isinstance(sub, list):
            if not _field_matches(sub, value):
                return False
        else:
            return False  # a pattern value must be an object or an array
    return True


def _field_matches(alternatives: list[Any], value: Any) -> bool:
    values = value if isinstance(value, list) else [value]
    if isinstance(value, list) and not value:
        values = [_MISSING]
    return any(_one(alt, v) for alt in alternatives for v in values)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _equal(expected: Any, value: Any) -> bool:
    if _is_number(expected) and _is_number(value):
        return float(expected) == float(value)
    if isinstance(expected, bool) or isinstance(value, bool):
        return type(expected) is type(value) and expected == value
    return type(expected) is type(value) and expected == value


def _wildcard(pattern: str, value: str) -> bool:
    parts = re.split(r"(?<!\\)\*", pattern)
    regex = ".*".join(re.escape(p.replace("\\*", "*")) for p in parts)
    return re.fullmatch(regex, value, re.DOTALL) is not None


def _string_op(name: str, arg: Any, value: Any) -> bool:
    if not isinstance(value, str):
        return False
    text: str = value
    if isinstance(arg, dict) and "equals-ignore-case" in arg:  # {"prefix": {"equals-ignore-case"}}
        arg, text = str(arg["equals-ignore-case"]).lower(), text.lower()
    if name == "prefix":
        return text.startswith(str(arg))
    if name == "suffix":
        return text.endswith(str(arg))
    if name == "equals-ignore-case":
        return text.lower() == str(arg).lower()
    return _wildcard(str(arg), text)


def _one(alt: Any, value: Any) -> bool:
    if not isinstance(alt, dict):
        return value is not _MISSING and _equal(alt, value)
    if len(alt) != 1:
        return False
    name, arg = next(iter(alt.items()))
    if name == "exists":
        present = value is not _MISSING and not isinstance(value, dict)
        return present if arg else value is _MISSING
    if value is _MISSING:
        return False
    if name in ("prefix", "suffix", "equals-ignore-case", "wildcard"):
        return _string_op(name, arg, value)
    if name == "anything-but":
        if isinstance(arg, dict):
            return not any(_one({k: v}, value) for k, v in arg.items())
        excluded = arg if isinstance(arg, list) else [arg]
        return not any(_equal(x, value) for x in excluded)
    if name == "numeric":
        if not _is_number(value) or not isinstance(arg, list) or len(arg) % 2:
            return False
        return all(
            op in _NUMERIC and _is_number(bound) and _NUMERIC[op](float(value), float(bound))
            for op, bound in zip(arg[::2], arg[1::2], strict=True)
        )
    if name == "cidr":
        if not isinstance(value, str):
            return False
        try:
            return ipaddress.ip_address(value) in ipaddress.ip_network(str(arg), strict=False)
        except ValueError:
            return False
    return False


def _matches_event(self: EventPattern, event: Any) -> bool:
    pattern = self.get_pattern()
    return True if not pattern else matches(pattern, event)


def install() -> None:
    """Make moto's rules (and anything else using EventPattern) match with these semantics."""
    EventPattern.matches_event = _matches_event  # type: ignore[method-assign]
