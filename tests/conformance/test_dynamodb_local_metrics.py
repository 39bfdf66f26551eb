"""The metric store tests of tests/integration, again against real DynamoDB Local (the
`dynamodb` fixture of tests/conformance/conftest.py): expressions, number formats, ALL_OLD."""

import pytest

from tests.integration import test_dynamo_metrics as metrics
from tests.integration.test_dynamo_metrics import *  # noqa: F403

pytestmark = pytest.mark.conformance

REUSED = sorted(name for name in dir(metrics) if name.startswith("test_"))


def test_the_metric_store_tests_are_collected_here():
    assert len(REUSED) >= 5, REUSED
    for name in [*REUSED, "store"]:
        assert globals()[name] is getattr(metrics, name)
