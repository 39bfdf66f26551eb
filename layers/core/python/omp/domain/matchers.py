"""Label matchers with Prometheus Alertmanager's semantics. Pure: no I/O.

A matcher is `name op value` with `op` one of `=`, `!=`, `=~`, `!~`:

- a label that an alert does not carry has the value `""`, so `team=""` matches an alert with no
  `team` label and `team!="sre"` matches it too;
- regular expressions are fully anchored: `=~"web"` matches `web` and not `webserver`
  (the pattern is evaluated as `^(?:pattern)$`);
- a list of matchers is joined by AND; the empty list matches every label set.

Two spellings are accepted: the string form Alertmanager prints and `amtool` reads
(`name="value"`, `name=~"re.*"`, a `{a="1", b!~"x|y"}` list, values quoted or bare) and the
object form of Alertmanager's API v2 (`{"name", "value", "isRegex", "isEqual"}`, here in snake
case, camel case also read). Regular expressions are Python's `re`, which accepts a superset of
Go's RE2: a pattern that does not compile raises `ValueError` with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from omp.domain.model import Model

LABEL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:/-]*$")
MAX_VALUE = 1024

# name, operator, then a quoted or a bare value
_MATCHER = re.compile(
    r"""^\s*(?P<name>[A-Za-z_][A-Za-z0-9_.:/-]*)\s*(?P<op>=~|!~|!=|=)\s*
        (?:"(?P<quoted>(?:[^"\\]|\\.)*)"|(?P<bare>[^"\s,{}][^,{}]*?)?)\s*$""",
    re.VERBOSE | re.DOTALL,
)
_UNESCAPE = {"\\": "\\", '"': '"', "n": "\n", "t": "\t"}


class MatchType(StrEnum):
    EQUAL = "="
    NOT_EQUAL = "!="
    REGEX = "=~"
    NOT_REGEX = "!~"


def compile_anchored(pattern: str) -> Any:
    """`pattern` as Alertmanager evaluates it: RE2 syntax and semantics (Go's regexp is RE2),
    anchored at both ends; ValueError if invalid. RE2 matches in time linear in the input, so a
    silence, route or inhibition rule cannot make matching backtrack exponentially; it refuses
    what Go refuses (back-references, look-arounds)."""
    import re2  # google-re2: imported by the functions that build a regex matcher, no others

    options = re2.Options()
    options.log_errors = False  # the ValueError carries the reason
    try:
        return re2.compile(f"^(?:{pattern})$", options)
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
        raise ValueError(f"invalid regular expression {pattern!r}: {reason}") from None


@dataclass(frozen=True)
class Matcher:
    name: str
    type: MatchType
    value: str
    _regex: Any = field(default=None, init=False, repr=False, compare=False)  # re2 pattern
    # `is_equal`, computed once: matching runs per alert and per silence, rule and route.
    _positive: bool = field(default=True, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not LABEL_NAME.match(self.name):
            raise ValueError(f"invalid label name {self.name!r}")
        if len(self.value) > MAX_VALUE:
            raise ValueError(f"the value of {self.name!r} is longer than {MAX_VALUE}")
        object.__setattr__(self, "type", MatchType(self.type))
        object.__setattr__(self, "_positive", self.type in (MatchType.EQUAL, MatchType.REGEX))
        if self.is_regex:
            object.__setattr__(self, "_regex", compile_anchored(self.value))

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def of(cls, name: str, value: str, *, is_regex: bool = False, is_equal: bool = True) -> Matcher:
        """From Alertmanager's API v2 object form."""
        if is_regex:
            kind = MatchType.REGEX if is_equal else MatchType.NOT_REGEX
        else:
            kind = MatchType.EQUAL if is_equal else MatchType.NOT_EQUAL
        return cls(name, kind, value)

    @classmethod
    def parse(cls, text: str) -> Matcher:
        """From the string form: `name="value"`, `name!~"a|b"`, `name=bare`."""
        found = _MATCHER.match(text)
        if not found:
            raise ValueError(f'not a matcher: {text!r} (expected name="value", =~, != or !~)')
        quoted, bare = found.group("quoted"), found.group("bare")
        if quoted is not None:
            value = re.sub(r"\\(.)", lambda m: _UNESCAPE.get(m.group(1), "\\" + m.group(1)), quoted)
        else:
            value = (bare or "").strip()
            if '"' in value:
                raise ValueError(f"not a matcher: {text!r} (unbalanced quote)")
        return cls(found.group("name"), MatchType(found.group("op")), value)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Matcher:
        """From `{name, value, is_regex, is_equal}` (or Alertmanager's `isRegex`, `isEqual`)."""
        try:
            name, value = data["name"], data["value"]
        except KeyError as exc:
            raise ValueError(f"a matcher needs {exc.args[0]!r}") from None
        is_regex = data.get("is_regex", data.get("isRegex", False))
        is_equal = data.get("is_equal", data.get("isEqual", True))
        if not isinstance(name, str) or not isinstance(value, str):
            raise ValueError("a matcher's name and value are strings")
        if not isinstance(is_regex, bool) or not isinstance(is_equal, bool):
            raise ValueError("a matcher's is_regex and is_equal are booleans")
        return cls.of(name, value, is_regex=is_regex, is_equal=is_equal)

    # -- semantics ----------------------------------------------------------------------------

    @property
    def is_regex(self) -> bool:
        return self.type in (MatchType.REGEX, MatchType.NOT_REGEX)

    @property
    def is_equal(self) -> bool:
        return self.type in (MatchType.EQUAL, MatchType.REGEX)

    def matches_value(self, value: str) -> bool:
        if self._regex is not None:
            hit = self._regex.fullmatch(value) is not None
        else:
            hit = value == self.value
        return hit if self._positive else not hit

    def matches(self, labels: Mapping[str, str]) -> bool:
        """A missing label is the empty string, as in Alertmanager."""
        return self.matches_value(labels.get(self.name, ""))

    @property
    def matches_empty(self) -> bool:
        """True when the matcher also matches alerts that lack the label."""
        return self.matches_value("")

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": self.value,
            "is_regex": self.is_regex,
            "is_equal": self.is_equal,
        }

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'{self.name}{self.type.value}"{escaped}"'


def parse_matchers(text: str) -> tuple[Matcher, ...]:
    """A comma-separated list, optionally in braces: `{a="1", b=~"x,y"}`. Commas inside quoted
    values do not split."""
    body = text.strip()
    if body.startswith("{"):
        if not body.endswith("}"):
            raise ValueError(f"unbalanced braces in {text!r}")
        body = body[1:-1]
    parts: list[str] = []
    current: list[str] = []
    in_quotes = escaped = False
    for char in body:
        if escaped:
            escaped = False
        elif char == "\\" and in_quotes:
            escaped = True
        elif char == '"':
            in_quotes = not in_quotes
        elif char == "," and not in_quotes:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    if in_quotes:
        raise ValueError(f"unterminated quote in {text!r}")
    parts.append("".join(current))
    if parts and not parts[-1].strip():  # a trailing comma is allowed
        parts.pop()
    return tuple(Matcher.parse(part) for part in parts)


def to_matcher(value: str | Mapping[str, Any] | Matcher) -> Matcher:
    if isinstance(value, Matcher):
        return value
    if isinstance(value, str):
        return Matcher.parse(value)
    return Matcher.from_dict(value)


def matches_all(matchers: Iterable[Matcher], labels: Mapping[str, str]) -> bool:
    """AND: every matcher holds; no matchers at all match everything."""
    return all(m.matches(labels) for m in matchers)


def format_matchers(matchers: Sequence[Matcher]) -> str:
    return "{" + ", ".join(str(m) for m in matchers) + "}"


# -- request models --------------------------------------------------------------------------

LabelName = Annotated[
    str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z_][A-Za-z0-9_.:/-]*$")
]


class MatcherIn(Model):
    """One matcher in a request body: `{name, value, is_regex, is_equal}` or the string form
    `name=~"value"` (then given as a bare JSON string)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: LabelName
    value: Annotated[str, StringConstraints(max_length=MAX_VALUE)]
    is_regex: bool = Field(default=False, alias="isRegex")
    is_equal: bool = Field(default=True, alias="isEqual")

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, data: Any) -> Any:
        if isinstance(data, str):
            return Matcher.parse(data).to_dict()
        return data

    @model_validator(mode="after")
    def _regex_compiles(self) -> MatcherIn:
        if self.is_regex:
            compile_anchored(self.value)
        return self

    def to_matcher(self) -> Matcher:
        return Matcher.of(self.name, self.value, is_regex=self.is_regex, is_equal=self.is_equal)
