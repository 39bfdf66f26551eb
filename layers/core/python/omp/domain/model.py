"""The project's pydantic base model.

`defer_build`: a model's validator and serializer are built the first time it is used, not
when its module is imported. A handler imports whole domain and API modules but uses a few of
their models, and building a pydantic model costs about a millisecond (the first one in a
process tens): without this, every cold start paid for every model of every module it touched
(docs/benchmarks.md, cold start). tests/unit/test_models_build.py builds every model, so a
schema error still fails the tests rather than a first request.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    model_config = ConfigDict(defer_build=True)
