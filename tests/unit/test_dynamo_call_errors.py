"""`omp.adapters.dynamo.call`: what each DynamoDB refusal becomes. A write refused because its
item is in another transaction is sent again (it was not applied); a cancelled transaction is
a conflict only when a condition or another transaction cancelled it."""

import pytest
from botocore.exceptions import ClientError

from omp.adapters import dynamo
from omp.domain.errors import Conflict, TransientError


def _error(code, reasons=None):
    response = {"Error": {"Code": code, "Message": code}}
    if reasons is not None:
        response["CancellationReasons"] = [{"Code": r} for r in reasons]
    return ClientError(response, "TransactWriteItems")


class _Client:
    def __init__(self, *errors):
        self.errors = list(errors)
        self.calls = 0

    def transact_write_items(self, **_):
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return {}


@pytest.fixture
def fake(monkeypatch):
    def install(*errors):
        client = _Client(*errors)
        monkeypatch.setattr(dynamo, "client", lambda _service: client)
        monkeypatch.setattr(dynamo.time, "sleep", lambda _s: None)
        return client

    return install


@pytest.mark.parametrize(
    "error",
    [
        _error("TransactionConflictException"),
        _error("TransactionCanceledException", ["None", "TransactionConflict"]),
    ],
)
def test_a_write_refused_for_another_transaction_is_sent_again(fake, error):
    client = fake(error, error)
    assert dynamo.call("transact_write_items", TransactItems=[]) == {}
    assert client.calls == 3


def test_after_the_attempts_it_is_a_conflict_to_re_read_on(fake):
    error = _error("TransactionConflictException")
    client = fake(*[error] * dynamo.CONFLICT_ATTEMPTS)
    with pytest.raises(Conflict):
        dynamo.call("transact_write_items", TransactItems=[])
    assert client.calls == dynamo.CONFLICT_ATTEMPTS


@pytest.mark.parametrize(
    ("reasons", "raised", "code"),
    [
        (["ConditionalCheckFailed", "None"], Conflict, "CONFLICT"),
        (["None", "ThrottlingError"], TransientError, "THROTTLED"),
        (["ValidationError", "None"], TransientError, "DEPENDENCY_FAILED"),
    ],
)
def test_a_cancelled_transaction_is_what_cancelled_it(fake, reasons, raised, code):
    client = fake(_error("TransactionCanceledException", reasons))
    with pytest.raises(raised) as err:
        dynamo.call("transact_write_items", TransactItems=[])
    assert err.value.code == code and client.calls == 1
    if raised is TransientError:
        assert not isinstance(err.value, Conflict)
