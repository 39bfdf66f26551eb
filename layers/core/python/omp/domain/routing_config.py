"""The routing configuration as the API accepts it, after Alertmanager's `route`, `receivers`
and `time_intervals` blocks: the request models and their validation. No routing happens here:
the tree is built and evaluated by `omp.domain.routing` (semantics in its docstring), which the
configuration and read functions never import (their cold start; docs/benchmarks.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from omp.domain.matchers import LABEL_NAME, MatcherIn
from omp.domain.model import Model

if TYPE_CHECKING:
    from omp.domain.routing import RoutingTree
    from omp.domain.silences import RecurringSchedule

GROUP_BY_ALL = "..."

_DURATION = re.compile(
    r"^(?:(?P<y>\d+)y)?(?:(?P<w>\d+)w)?(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?"
    r"(?:(?P<s>\d+)s)?(?:(?P<ms>\d+)ms)?$"
)
_UNIT = {
    "y": timedelta(days=365),
    "w": timedelta(weeks=1),
    "d": timedelta(days=1),
    "h": timedelta(hours=1),
    "m": timedelta(minutes=1),
    "s": timedelta(seconds=1),
    "ms": timedelta(milliseconds=1),
}


# Longer durations make no sense for a timer and would overflow datetime arithmetic later.
MAX_DURATION = timedelta(days=3650)


def parse_duration(value: Any) -> timedelta:
    """Alertmanager's duration strings (`30s`, `5m`, `1h30m`, `1d`, `0`), or seconds; at most
    `MAX_DURATION` either way."""
    try:
        parsed = _parse_duration(value)
    except (OverflowError, ArithmeticError) as exc:
        raise ValueError(f"duration too large: at most {MAX_DURATION.days} days") from exc
    if abs(parsed) > MAX_DURATION:
        raise ValueError(f"duration too large: at most {MAX_DURATION.days} days")
    return parsed


def _parse_duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError("a duration is a string like 5m or a number of seconds")
    if isinstance(value, int | float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("a duration must be a finite number of seconds")
        return timedelta(seconds=value)
    if not isinstance(value, str):
        raise ValueError("a duration is a string like 5m or a number of seconds")
    text = value.strip()
    if text == "0":
        return timedelta(0)
    found = _DURATION.match(text)
    if not text or not found:
        raise ValueError(f"not a duration: {value!r} (e.g. 30s, 5m, 4h, 1d)")
    total = timedelta(0)
    for unit, amount in found.groupdict().items():
        if amount:
            total += int(amount) * _UNIT[unit]
    return total


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


# -- request models ---------------------------------------------------------------------------

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]


class RouteConfig(Model):
    """One node of the routing tree, as the API accepts it (Alertmanager's `route` block)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    receiver: Name | None = None
    matchers: list[MatcherIn] = Field(default_factory=list, max_length=32)
    continue_: bool = Field(default=False, alias="continue")
    group_by: list[str] | None = None
    group_wait: Duration | None = None
    group_interval: Duration | None = None
    repeat_interval: Duration | None = None
    mute_time_intervals: list[Name] = Field(default_factory=list)
    active_time_intervals: list[Name] = Field(default_factory=list)
    escalation_policy: Name | None = Field(
        default=None,
        description="an escalation policy id (`esc_...`): an incident whose alarm is routed "
        "here escalates by it (not inherited)",
    )
    routes: list[RouteConfig] = Field(default_factory=list, max_length=256)

    @field_validator("group_by")
    @classmethod
    def _group_by(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        if GROUP_BY_ALL in value and len(value) > 1:
            raise ValueError("'...' groups by all labels and must be alone in group_by")
        bad = [v for v in value if v != GROUP_BY_ALL and not LABEL_NAME.match(v)]
        if bad:
            raise ValueError(f"invalid label names in group_by: {bad}")
        if len(set(value)) != len(value):
            raise ValueError("group_by lists a label twice")
        return value

    @model_validator(mode="after")
    def _timers(self) -> RouteConfig:
        if self.group_interval is not None and self.group_interval <= timedelta(0):
            raise ValueError("group_interval must be positive")
        if self.repeat_interval is not None and self.repeat_interval <= timedelta(0):
            raise ValueError("repeat_interval must be positive")
        if self.group_wait is not None and self.group_wait < timedelta(0):
            raise ValueError("group_wait cannot be negative")
        return self

    def walk(self) -> Iterable[RouteConfig]:
        yield self
        for child in self.routes:
            yield from child.walk()


def check_root(root: RouteConfig) -> None:
    if not root.receiver:
        raise ValueError("the root route needs a receiver")
    if root.matchers:
        raise ValueError("the root route matches every alert: it cannot have matchers")
    if root.continue_:
        raise ValueError("the root route cannot have continue")
    if root.mute_time_intervals or root.active_time_intervals:
        raise ValueError("the root route cannot have mute or active time intervals")


# -- receivers --------------------------------------------------------------------------------

_SECRET_ARN = r"arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+"
_SECRET_NAME = r"[A-Za-z0-9/_+=.@-]{1,512}"
_TOPIC_ARN = r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$"


class SecretRef(Model):
    """Where a secret lives in AWS Secrets Manager: never the secret itself."""

    model_config = ConfigDict(extra="forbid")

    secret_id: Annotated[
        str, StringConstraints(pattern=rf"^(?:{_SECRET_ARN}|{_SECRET_NAME})$", max_length=2048)
    ] = Field(description="the secret's ARN or name")
    json_key: Name | None = Field(
        default=None, description="the key to read when the secret string is a JSON object"
    )


class _Integration(Model):
    model_config = ConfigDict(extra="forbid")

    send_resolved: bool = True


class SnsIntegration(_Integration):
    """An SNS topic (its email and SMS subscriptions receive the message)."""

    type: Literal["sns"] = "sns"
    topic_arn: Annotated[str, StringConstraints(pattern=_TOPIC_ARN)]
    subject: Annotated[str, StringConstraints(max_length=100)] | None = None


class SlackIntegration(_Integration):
    type: Literal["slack"] = "slack"
    webhook_url: SecretRef = Field(description="the incoming-webhook URL, kept as a secret")
    channel: Annotated[str, StringConstraints(max_length=80)] | None = None
    username: Annotated[str, StringConstraints(max_length=80)] | None = None


class MsTeamsIntegration(_Integration):
    type: Literal["msteams"] = "msteams"
    webhook_url: SecretRef = Field(description="the Teams workflow/webhook URL, as a secret")


class WebhookIntegration(_Integration):
    type: Literal["webhook"] = "webhook"
    url: (
        Annotated[str, StringConstraints(pattern=r"^https://[^\s/$.?#][^\s]*$", max_length=2048)]
        | None
    ) = None
    url_secret: SecretRef | None = Field(
        default=None, description="the URL kept as a secret (it embeds a token): instead of `url`"
    )
    authorization: SecretRef | None = Field(
        default=None, description="sent as `Authorization: Bearer <secret>`"
    )
    hmac_secret: SecretRef | None = Field(
        default=None,
        description="signs the body: `X-OMP-Signature: sha256=<hex HMAC-SHA256 of the body>`",
    )
    max_alerts: int = Field(default=0, ge=0, description="0: all alerts of the group")

    @model_validator(mode="after")
    def _one_url(self) -> WebhookIntegration:
        if (self.url is None) == (self.url_secret is None):
            raise ValueError("a webhook needs exactly one of url and url_secret")
        return self


Integration = Annotated[
    SnsIntegration | SlackIntegration | MsTeamsIntegration | WebhookIntegration,
    Field(discriminator="type"),
]


class Receiver(Model):
    model_config = ConfigDict(extra="forbid")

    name: Name
    integrations: list[Integration] = Field(default_factory=list, max_length=16)


class TimeIntervalIn(Model):
    """A named recurring interval for `mute_time_intervals` / `active_time_intervals`."""

    model_config = ConfigDict(extra="forbid")

    cron: Annotated[str, StringConstraints(strip_whitespace=True, min_length=9, max_length=256)]
    duration: Duration
    timezone: Annotated[str, StringConstraints(max_length=64)] = "UTC"

    @model_validator(mode="after")
    def _parses(self) -> TimeIntervalIn:
        self.schedule()
        return self

    def schedule(self) -> RecurringSchedule:
        from omp.domain.silences import RecurringSchedule  # only a config with intervals

        return RecurringSchedule.of(self.cron, self.duration, self.timezone)


class RoutingConfig(Model):
    """The routing tree, its receivers and named time intervals, checked for consistency."""

    model_config = ConfigDict(extra="forbid")

    route: RouteConfig
    receivers: list[Receiver] = Field(min_length=1, max_length=256)
    time_intervals: dict[Name, TimeIntervalIn] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> RoutingConfig:
        check_root(self.route)
        names = [r.name for r in self.receivers]
        if len(set(names)) != len(names):
            raise ValueError("receiver names must be unique")
        for node in self.route.walk():
            if node.receiver and node.receiver not in names:
                raise ValueError(f"route refers to an unknown receiver {node.receiver!r}")
            for interval in (*node.mute_time_intervals, *node.active_time_intervals):
                if interval not in self.time_intervals:
                    raise ValueError(f"route refers to an unknown time interval {interval!r}")
        return self

    def tree(self) -> RoutingTree:
        from omp.domain.routing import RoutingTree  # the engine: routing functions only

        return RoutingTree.build(self.route)

    def schedules(self) -> dict[str, RecurringSchedule]:
        return {name: ti.schedule() for name, ti in self.time_intervals.items()}
