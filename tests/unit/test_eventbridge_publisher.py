"""EventBridgePublisher: entries PutEvents refuses one by one (FailedEntryCount) are sent again,
only those, before the request gives up with 503 EVENTS_FAILED."""

import pytest

from omp.adapters import eventbridge
from omp.domain.errors import TransientError
from omp.domain.events import DomainEvent


class _Bus:
    """A PutEvents that refuses the entries named in `refuse`, once per name per listed time."""

    def __init__(self, refuse):
        self.refuse = list(refuse)
        self.calls = []

    def put_events(self, Entries):
        self.calls.append([e["DetailType"] for e in Entries])
        answers = []
        for entry in Entries:
            if entry["DetailType"] in self.refuse:
                self.refuse.remove(entry["DetailType"])
                answers.append({"ErrorCode": "ThrottlingException", "ErrorMessage": "slow down"})
            else:
                answers.append({"EventId": "id"})
        failed = sum("ErrorCode" in a for a in answers)
        return {"FailedEntryCount": failed, "Entries": answers}


def _events(*names):
    return [DomainEvent(source="omp.test", detail_type=n, detail={}) for n in names]


@pytest.fixture
def bus(monkeypatch):
    def install(refuse):
        fake = _Bus(refuse)
        monkeypatch.setattr(eventbridge, "client", lambda _service: fake)
        monkeypatch.setattr(eventbridge.time, "sleep", lambda _s: None)
        return fake

    return install


def test_refused_entries_alone_are_sent_again(bus):
    fake = bus(["BetaHappened", "GammaHappened"])
    eventbridge.EventBridgePublisher("platform").publish(
        _events("AlphaHappened", "BetaHappened", "GammaHappened")
    )
    assert fake.calls == [
        ["AlphaHappened", "BetaHappened", "GammaHappened"],
        ["BetaHappened", "GammaHappened"],
    ]


def test_an_entry_refused_on_every_attempt_is_a_503(bus):
    fake = bus(["BetaHappened"] * eventbridge.PUT_ATTEMPTS)
    with pytest.raises(TransientError) as err:
        eventbridge.EventBridgePublisher("platform").publish(
            _events("AlphaHappened", "BetaHappened")
        )
    assert err.value.code == "EVENTS_FAILED" and "ThrottlingException" in str(err.value)
    assert fake.calls == [["AlphaHappened", "BetaHappened"], ["BetaHappened"], ["BetaHappened"]]
