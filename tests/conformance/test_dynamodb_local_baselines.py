"""The baseline/detector-state/settings store tests of tests/integration, again against real
DynamoDB Local (the `dynamodb` fixture of tests/conformance/conftest.py): binary attributes,
ADD on the version, projections in BatchGetItem, conditional writes."""

import pytest

from tests.integration import test_dynamo_baselines as baselines
from tests.integration.test_dynamo_baselines import *  # noqa: F403

pytestmark = pytest.mark.conformance

REUSED = sorted(name for name in dir(baselines) if name.startswith("test_"))


def test_the_baseline_store_tests_are_collected_here():
    assert len(REUSED) >= 4, REUSED
    for name in [*REUSED, "store"]:
        assert globals()[name] is getattr(baselines, name)
