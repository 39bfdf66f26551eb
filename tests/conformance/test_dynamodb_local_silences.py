"""The silence, maintenance-window and inhibition-rule store tests of tests/integration, again
against real DynamoDB Local (the `dynamodb` fixture of tests/conformance/conftest.py)."""

import pytest

from tests.integration import test_dynamo_silences as silences
from tests.integration.test_dynamo_silences import *  # noqa: F403

pytestmark = pytest.mark.conformance

REUSED = sorted(name for name in dir(silences) if name.startswith("test_"))


def test_the_silence_store_tests_are_collected_here():
    assert len(REUSED) >= 8, REUSED
    for name in [*REUSED, "silence_store", "window_store", "rule_store"]:
        assert globals()[name] is getattr(silences, name)
