from __future__ import annotations

import pytest

from tests.infra.catalogs import small_catalog
from tests.infra.synth import Synth, synthesize


@pytest.fixture(scope="session")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synthesize(tmp_path_factory.mktemp("cdk-dev"), "dev")


@pytest.fixture(scope="session")
def prod(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synthesize(tmp_path_factory.mktemp("cdk-prod"), "prod")


@pytest.fixture(scope="session")
def small(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """A small catalog exercising every trigger kind, graph/search and a state machine."""
    return synthesize(tmp_path_factory.mktemp("cdk-small"), "dev", catalog=small_catalog())


@pytest.fixture(scope="session", params=["dev", "prod"])
def stage_synth(request: pytest.FixtureRequest) -> Synth:
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]
