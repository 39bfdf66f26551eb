from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from pydantic import ValidationError

from omp.domain.errors import ValidationFailed
from omp.domain.matchers import parse_matchers
from omp.domain.silences import (
    CreateMaintenanceWindow,
    CreateSilence,
    Cron,
    MaintenanceWindow,
    RecurringSchedule,
    Silence,
    SilencePolicy,
    SilenceState,
    active,
    describe,
    expiring,
    is_silenced,
    matches_everything,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)


def _silence(sid="sil_1", matchers='service="api"', start=NOW, end=NOW + H, **kw):
    return Silence(
        id=sid,
        matchers=parse_matchers(matchers),
        starts_at=start,
        ends_at=end,
        created_by="me",
        created_at=NOW,
        comment=kw.pop("comment", "deploy"),
        **kw,
    )


def _request(matchers=('service="api"',), **kw):
    body = {"matchers": list(matchers), "ends_at": (NOW + H).isoformat(), "comment": "deploy"}
    body.update(kw)
    return CreateSilence.model_validate(body)


def _admit(request, active_alarms=(), policy=None):
    return (policy or SilencePolicy()).admit(
        request, silence_id="sil_1", created_by="me", now=NOW, active_alarms=active_alarms
    )


# -- state ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "state"),
    [
        (NOW - timedelta(seconds=1), SilenceState.PENDING),
        (NOW, SilenceState.ACTIVE),
        (NOW + H / 2, SilenceState.ACTIVE),
        (NOW + H, SilenceState.ACTIVE),  # Alertmanager: expired only after ends_at
        (NOW + H + timedelta(microseconds=1), SilenceState.EXPIRED),
    ],
)
def test_state_is_derived_from_the_clock(now, state):
    assert _silence().state(now) is state


def test_expire_ends_an_active_silence_and_cancels_a_pending_one():
    active_one = _silence().expire(NOW + H / 2)
    assert active_one.ends_at == NOW + H / 2
    assert active_one.state(NOW + H) is SilenceState.EXPIRED
    pending = _silence(start=NOW + H, end=NOW + 2 * H).expire(NOW)
    assert pending.starts_at == pending.ends_at == NOW
    assert pending.state(NOW + H) is SilenceState.EXPIRED
    done = _silence()
    assert done.expire(NOW + 2 * H) is done


def test_describe_shows_state_and_utc_times():
    d = describe(_silence(), NOW + H / 2)
    assert d["state"] == "active"
    assert d["starts_at"] == "2026-03-01T12:00:00Z"
    assert d["matchers"] == [
        {"name": "service", "value": "api", "is_regex": False, "is_equal": True}
    ]


# -- is_silenced / expiring --------------------------------------------------------------------


def test_is_silenced_returns_ids_of_active_matching_silences_only():
    silences = [
        _silence("sil_a", 'service="api"'),
        _silence("sil_b", 'service=~"api|web", env="prod"'),
        _silence("sil_c", 'service="web"'),  # does not match
        _silence("sil_d", 'service="api"', start=NOW + H, end=NOW + 2 * H),  # pending
        _silence("sil_e", 'service="api"', start=NOW - 2 * H, end=NOW - H),  # expired
    ]
    labels = {"service": "api", "env": "prod"}
    assert is_silenced(labels, silences, NOW) == ["sil_a", "sil_b"]
    assert is_silenced({"service": "api", "env": "dev"}, silences, NOW) == ["sil_a"]
    assert is_silenced({"service": "db"}, silences, NOW) == []
    assert is_silenced(labels, silences, NOW + H + H / 2) == ["sil_d"]


def test_is_silenced_includes_open_maintenance_windows():
    window = MaintenanceWindow(
        id="mwn_1",
        name="nightly",
        schedule=RecurringSchedule.of("0 12 * * *", H, "UTC"),
        matchers=parse_matchers('env="prod"'),
    )
    assert is_silenced({"env": "prod"}, [], NOW + H / 2, [window]) == ["mwn_1"]
    assert is_silenced({"env": "prod"}, [], NOW + 2 * H, [window]) == []
    assert is_silenced({"env": "dev"}, [], NOW + H / 2, [window]) == []


def test_expiring_lists_active_silences_ending_within_the_lead_time():
    silences = [
        _silence("late", end=NOW + 3 * H),
        _silence("soon", end=NOW + timedelta(minutes=10)),
        _silence("sooner", end=NOW + timedelta(minutes=5)),
        _silence("gone", start=NOW - 2 * H, end=NOW - H),
        _silence("pending", start=NOW + timedelta(minutes=1), end=NOW + timedelta(minutes=9)),
    ]
    found = expiring(silences, NOW, timedelta(minutes=15))
    assert [s.id for s in found] == ["sooner", "soon"]


def test_expiring_with_since_reports_each_silence_once_across_sweeps():
    s = _silence(end=NOW + timedelta(minutes=20))
    lead = timedelta(minutes=15)
    sweeps = [NOW + timedelta(minutes=m) for m in range(0, 25, 1)]
    seen = []
    for prev, now in pairwise(sweeps):
        seen += [(now, x.id) for x in expiring([s], now, lead, since=prev)]
    assert seen == [(NOW + timedelta(minutes=5), "sil_1")]


# -- request and guardrails -------------------------------------------------------------------


def test_admit_builds_the_silence():
    s = _admit(_request(starts_at=(NOW + H).isoformat(), ends_at=(NOW + 2 * H).isoformat()))
    assert s.starts_at == NOW + H and s.ends_at == NOW + 2 * H
    assert s.created_by == "me" and s.created_at == NOW and s.comment == "deploy"
    assert s.state(NOW) is SilenceState.PENDING


def test_admit_defaults_start_to_now_and_normalises_offsets():
    s = _admit(_request(ends_at="2026-03-01T15:00:00+02:00"))
    assert s.starts_at == NOW
    assert s.ends_at == datetime(2026, 3, 1, 13, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("comment", "ticket", "ok"),
    [("deploy", None, True), ("", "CHG-42", True), ("", None, False), ("   ", None, False)],
)
def test_reason_or_ticket_is_required(comment, ticket, ok):
    request = _request(comment=comment, ticket=ticket)
    if ok:
        _admit(request)
        return
    with pytest.raises(ValidationFailed) as err:
        _admit(request)
    assert err.value.code == "SILENCE_REASON_REQUIRED"
    assert err.value.status == 422


@pytest.mark.parametrize(
    ("duration", "ok"),
    [
        (timedelta(days=7), True),
        (timedelta(days=7, seconds=1), False),
        (timedelta(days=30), False),
    ],
)
def test_max_duration(duration, ok):
    request = _request(ends_at=(NOW + duration).isoformat())
    if ok:
        _admit(request)
        return
    with pytest.raises(ValidationFailed) as err:
        _admit(request)
    assert err.value.code == "SILENCE_TOO_LONG"
    assert err.value.details["max_duration_seconds"] == 7 * 86400


def test_max_duration_is_configurable():
    request = _request(ends_at=(NOW + 2 * H).isoformat())
    with pytest.raises(ValidationFailed, match="at most 1:00:00"):
        _admit(request, policy=SilencePolicy(max_duration=H))


@pytest.mark.parametrize(
    ("starts", "ends"),
    [(NOW + H, NOW + H), (NOW + 2 * H, NOW + H), (NOW - 2 * H, NOW - H)],
)
def test_time_range_must_be_forward_and_not_over(starts, ends):
    request = _request(starts_at=starts.isoformat(), ends_at=ends.isoformat())
    with pytest.raises(ValidationFailed) as err:
        _admit(request)
    assert err.value.code == "SILENCE_INVALID_TIME_RANGE"


@pytest.mark.parametrize(
    ("matchers", "too_broad"),
    [
        (['alertname!="x"'], True),
        (['alertname!~"x|y"'], True),
        (['alertname=""'], True),
        (['alertname=~".*"'], True),
        (['alertname=~".+"'], True),  # matches any alert that has the label
        (['alertname=~"(.*)"', 'env!="dev"'], True),
        (['team=~"sre|"'], True),  # also matches alerts without the label
        (['alertname="HighCPU"'], False),
        (['alertname=~"High.*"'], False),
        (['alertname=~".+"', 'env="prod"'], False),  # one narrowing matcher suffices
        (['env!="dev"', 'service="api"'], False),
    ],
)
def test_matchers_that_select_everything_are_refused(matchers, too_broad):
    assert matches_everything(parse_matchers(",".join(matchers))) is too_broad
    request = _request(matchers=matchers)
    if not too_broad:
        _admit(request)
        return
    with pytest.raises(ValidationFailed) as err:
        _admit(request)
    assert err.value.code == "SILENCE_TOO_BROAD"
    assert err.value.details["reason"] == "matches_everything"


def _alarms(n_api, n_other):
    return [{"service": "api", "i": str(i)} for i in range(n_api)] + [
        {"service": "db", "i": str(i)} for i in range(n_other)
    ]


@pytest.mark.parametrize(
    ("n_api", "n_other", "refused"),
    [
        (5, 5, False),  # exactly 50% is allowed: "more than" the share is refused
        (6, 4, True),
        (51, 49, True),
        (50, 50, False),
        (9, 0, False),  # under share_min_alarms (10): the share is not applied
        (10, 0, True),
        (0, 0, False),
    ],
)
def test_share_of_active_alarms(n_api, n_other, refused):
    request = _request(matchers=['service="api"'])
    active_alarms = _alarms(n_api, n_other)
    if not refused:
        _admit(request, active_alarms)
        return
    with pytest.raises(ValidationFailed) as err:
        _admit(request, active_alarms)
    assert err.value.code == "SILENCE_TOO_BROAD"
    assert err.value.details["reason"] == "share_of_active"
    assert err.value.details["matched"] == n_api
    assert err.value.details["active"] == n_api + n_other


def test_share_threshold_is_configurable():
    policy = SilencePolicy(max_active_share=0.2, share_min_alarms=1)
    with pytest.raises(ValidationFailed, match="3 of 10"):
        _admit(_request(), _alarms(3, 7), policy=policy)
    _admit(_request(), _alarms(2, 8), policy=policy)


def test_request_model_rejects_missing_matchers_bad_regex_naive_times():
    with pytest.raises(ValidationError):
        CreateSilence.model_validate({"matchers": [], "ends_at": NOW.isoformat()})
    with pytest.raises(ValidationError, match="invalid regular expression"):
        _request(matchers=['a=~"("'])
    with pytest.raises(ValidationError):
        _request(ends_at="2026-03-01T13:00:00")  # no offset
    with pytest.raises(ValidationError):
        _request(created_by="someone-else")  # the creator comes from the identity


# -- cron and maintenance windows -------------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "local", "expected"),
    [
        ("*/15 * * * *", datetime(2026, 1, 5, 10, 45), True),
        ("*/15 * * * *", datetime(2026, 1, 5, 10, 46), False),
        ("5/20 * * * *", datetime(2026, 1, 5, 10, 45), True),
        ("5/20 * * * *", datetime(2026, 1, 5, 10, 5), True),
        ("5/20 * * * *", datetime(2026, 1, 5, 10, 15), False),
        ("0 9-17/4 * * *", datetime(2026, 1, 5, 13, 0), True),
        ("0 9-17/4 * * *", datetime(2026, 1, 5, 15, 0), False),
        ("0 2 * * MON-FRI", datetime(2026, 1, 5, 2, 0), True),  # Monday
        ("0 2 * * MON-FRI", datetime(2026, 1, 4, 2, 0), False),  # Sunday
        ("0 2 * * 0", datetime(2026, 1, 4, 2, 0), True),
        ("0 2 * * 7", datetime(2026, 1, 4, 2, 0), True),  # 7 is Sunday too
        ("0 2 * * 1,3,5", datetime(2026, 1, 7, 2, 0), True),  # Wednesday
        ("0 0 1 JAN,jul *", datetime(2026, 7, 1, 0, 0), True),
        ("0 0 1 JAN,jul *", datetime(2026, 6, 1, 0, 0), False),
        # both day fields restricted: either matches (Vixie cron)
        ("0 0 13 * FRI", datetime(2026, 2, 13, 0, 0), True),  # Friday 13th
        ("0 0 13 * FRI", datetime(2026, 1, 13, 0, 0), True),  # Tuesday 13th
        ("0 0 13 * FRI", datetime(2026, 1, 16, 0, 0), True),  # Friday 16th
        ("0 0 13 * FRI", datetime(2026, 1, 14, 0, 0), False),
        # only one restricted: both must hold
        ("0 0 13 * *", datetime(2026, 1, 14, 0, 0), False),
        ("0 0 * * FRI", datetime(2026, 1, 13, 0, 0), False),
    ],
)
def test_cron_matches(expr, local, expected):
    assert Cron.parse(expr).matches(local) is expected


@pytest.mark.parametrize(
    "expr",
    ["* * * *", "* * * * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *",
     "* * * * 8", "5-1 * * * *", "*/0 * * * *", "x * * * *", "* * * FOO *"],
)  # fmt: skip
def test_cron_rejects_invalid(expr):
    with pytest.raises(ValueError, match="cron"):
        Cron.parse(expr)


def _utc(*args):
    return datetime(*args, tzinfo=UTC)


BERLIN_2AM = RecurringSchedule.of("0 2 * * *", H, "Europe/Berlin")


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # winter (CET, UTC+1): 02:00-03:00 local is 01:00-02:00 UTC
        (_utc(2026, 1, 10, 0, 59), False),
        (_utc(2026, 1, 10, 1, 0), True),
        (_utc(2026, 1, 10, 1, 59), True),
        (_utc(2026, 1, 10, 2, 0), False),
        # summer (CEST, UTC+2): 02:00-03:00 local is 00:00-01:00 UTC
        (_utc(2026, 7, 10, 0, 0), True),
        (_utc(2026, 7, 10, 0, 30), True),
        (_utc(2026, 7, 10, 1, 0), False),
        (_utc(2026, 7, 10, 1, 30), False),
        # spring forward 2026-03-29: 02:00 does not exist; the window opens at 03:00 CEST
        # (01:00 UTC) and lasts one elapsed hour
        (_utc(2026, 3, 29, 0, 30), False),
        (_utc(2026, 3, 29, 1, 0), True),
        (_utc(2026, 3, 29, 1, 59), True),
        (_utc(2026, 3, 29, 2, 0), False),
        # fall back 2026-10-25: 02:00 happens twice; the window opens at the first (CEST,
        # 00:00 UTC) only, and runs one elapsed hour
        (_utc(2026, 10, 25, 0, 0), True),
        (_utc(2026, 10, 25, 0, 59), True),
        (_utc(2026, 10, 25, 1, 0), False),  # 02:00 CET, the second 02:00: not a new start
        (_utc(2026, 10, 25, 1, 30), False),
        # the day after each change runs on the new offset
        (_utc(2026, 3, 30, 0, 0), True),
        (_utc(2026, 10, 26, 1, 0), True),
    ],
)
def test_maintenance_window_across_dst(now, expected):
    assert BERLIN_2AM.active(now) is expected


def test_window_in_skipped_half_hour_opens_when_the_clock_jumps():
    s = RecurringSchedule.of("30 2 * * SUN", timedelta(minutes=90), "Europe/Berlin")
    assert s.last_start(_utc(2026, 3, 29, 2, 0)) == _utc(2026, 3, 29, 1, 0)  # 03:00 CEST
    assert s.active(_utc(2026, 3, 29, 2, 29))
    assert not s.active(_utc(2026, 3, 29, 2, 30))


def test_window_spanning_midnight_and_weekday_restriction():
    # Saturday 22:00 New York for 6 hours: still open at Sunday 03:00 local
    s = RecurringSchedule.of("0 22 * * SAT", timedelta(hours=6), "America/New_York")
    assert s.active(_utc(2026, 1, 11, 8, 0))  # Sun 03:00 EST
    assert not s.active(_utc(2026, 1, 11, 9, 0))  # Sun 04:00 EST
    assert not s.active(_utc(2026, 1, 12, 8, 0))  # Monday
    assert active(s, _utc(2026, 1, 11, 3, 0))  # Sat 22:00 EST is 03:00 UTC Sunday


def test_next_start_is_on_the_local_clock():
    assert BERLIN_2AM.next_start(_utc(2026, 1, 10, 12, 0)) == _utc(2026, 1, 11, 1, 0)
    assert BERLIN_2AM.next_start(_utc(2026, 7, 10, 12, 0)) == _utc(2026, 7, 11, 0, 0)
    feb30 = RecurringSchedule.of("0 0 30 2 *", H, "UTC")
    assert feb30.next_start(NOW) is None


def test_create_maintenance_window_request():
    body = {
        "name": "nightly db",
        "cron": "0 2 * * *",
        "duration_minutes": 60,
        "timezone": "Europe/Berlin",
        "matchers": ['service="db"'],
    }
    window = CreateMaintenanceWindow.model_validate(body).to_window(
        window_id="mwn_1", created_by="me"
    )
    assert window.active(_utc(2026, 1, 10, 1, 30))
    assert window.matches({"service": "db"}) and not window.matches({"service": "api"})
    for bad in ({"cron": "0 2 * *"}, {"timezone": "Mars/Olympus"}, {"duration_minutes": 0}):
        with pytest.raises(ValidationError):
            CreateMaintenanceWindow.model_validate({**body, **bad})
    broad = CreateMaintenanceWindow.model_validate({**body, "matchers": ['env!="dev"']})
    with pytest.raises(ValidationFailed) as err:
        broad.to_window(window_id="mwn_2", created_by="me")
    assert err.value.code == "SILENCE_TOO_BROAD"


def test_policy_check_treats_blank_reason_as_missing():
    for comment, ticket in (("  ", None), ("", " "), ("\t", "")):
        with pytest.raises(ValidationFailed) as err:
            SilencePolicy().check(
                parse_matchers('service="api"'),
                starts_at=NOW,
                ends_at=NOW + H,
                comment=comment,
                ticket=ticket,
                now=NOW,
            )
        assert err.value.code == "SILENCE_REASON_REQUIRED"
