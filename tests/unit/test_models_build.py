"""Every pydantic model of the project builds.

Models derive from `omp.domain.model.Model` (`defer_build=True`), so a schema mistake would
otherwise surface only at a model's first use in a request. This imports every module of the
core package and of the handlers and builds every model it finds.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel

import omp
from omp.domain.model import Model

ROOT = Path(__file__).resolve().parents[2]


def _all_subclasses(cls: type) -> list[type]:
    out: list[type] = []
    for sub in cls.__subclasses__():
        out += [sub, *_all_subclasses(sub)]
    return out


def _import_everything() -> None:
    for info in pkgutil.walk_packages(omp.__path__, "omp."):
        importlib.import_module(info.name)
    for path in sorted((ROOT / "functions").glob("*/*.py")):
        name = f"_models_build_{path.parent.name}_{path.stem}"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)


def test_every_project_model_derives_from_the_deferred_base_and_builds() -> None:
    _import_everything()
    ours = [
        c
        for c in _all_subclasses(BaseModel)
        if c.__module__.startswith(("omp.", "_models_build_")) and "[" not in c.__name__
    ]
    assert len(ours) > 100
    not_deferred = [
        f"{c.__module__}.{c.__qualname__}"
        for c in ours
        if not issubclass(c, Model) and c is not Model
    ]
    assert not_deferred == [], "derive these from omp.domain.model.Model"
    for cls in ours:
        cls.model_rebuild()
        assert cls.__pydantic_complete__, f"{cls.__module__}.{cls.__qualname__} did not build"
        cls.model_json_schema()  # the OpenAPI generator needs every schema


def test_a_deferred_model_still_validates_on_first_use() -> None:
    class Probe(Model):
        n: int

    assert Probe.model_validate({"n": "3"}).n == 3
    with pytest.raises(ValueError):
        Probe.model_validate({"n": "x"})
