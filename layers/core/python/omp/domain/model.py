"""The project's pydantic base model.

`defer_build`: a model's validator and serializer are built the first time it is used, not
when its module is imported. A handler imports whole domain and API modules but uses a few of
their models, and building a pydantic model costs about a millisecond (the first one in a
process tens): without this, every cold start paid for every model of every module it touched
(docs/benchmarks.md, cold start). tests/unit/test_models_build.py builds every model, so a
schema error still fails the tests rather than a first request.

Plugins: every function runs with `PYDANTIC_DISABLE_PLUGINS=1` (infra.wiring.environment), so
pydantic's plugin lookup finds nothing, yet the first model built in a process still imports
`importlib.metadata` for it (about 30 ms of CPU, half a bare hello-world's whole import) before
reading the setting. With plugins disabled, the lookup is answered here without that import;
pydantic 2.12 reads the lookup from exactly one place (`pydantic.plugin._schema_validator`), and
tests/unit/test_models_build.py checks that this answer is pydantic's own.
"""

from __future__ import annotations

import os
import sys
import types
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict

PLUGIN_LOADER = "pydantic.plugin._loader"


def _no_plugins() -> Iterable[object]:
    return ()


_disabled = os.environ.get("PYDANTIC_DISABLE_PLUGINS") in ("__all__", "1", "true")
if _disabled and PLUGIN_LOADER not in sys.modules:
    _loader = types.ModuleType(PLUGIN_LOADER, "plugins disabled: see omp.domain.model")
    _loader.get_plugins = _no_plugins  # type: ignore[attr-defined]
    sys.modules[PLUGIN_LOADER] = _loader


class Model(BaseModel):
    model_config = ConfigDict(defer_build=True)
