"""Every pydantic model of the project builds.

Models derive from `omp.domain.model.Model` (`defer_build=True`), so a schema mistake would
otherwise surface only at a model's first use in a request. This imports every module of the
core package and of the handlers and builds every model it finds.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import subprocess
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


def test_plugin_lookup_is_pydantics_own_answer_without_importlib_metadata() -> None:
    """With PYDANTIC_DISABLE_PLUGINS set (every function's environment), omp.domain.model
    answers pydantic's plugin lookup itself: no plugins, exactly as pydantic's loader answers,
    and without importing importlib.metadata. Guards a pydantic upgrade: the lookup must still
    be read from the one place the shim replaces."""
    import pydantic

    package = Path(pydantic.__file__).parent
    readers = sorted(
        str(p.relative_to(package))
        for p in package.rglob("*.py")
        if "_loader" in p.read_text() and p.name != "_loader.py"
    )
    assert readers == ["plugin/_schema_validator.py"]
    assert (
        "from ._loader import get_plugins" in (package / "plugin/_schema_validator.py").read_text()
    )

    probe = (
        "import sys, importlib.util\n"
        "from omp.domain.model import Model\n"
        "class Probe(Model):\n"
        "    n: int\n"
        "assert Probe.model_validate({'n': '2'}).n == 2\n"
        "assert 'importlib.metadata' not in sys.modules, 'importlib.metadata was imported'\n"
        "spec = importlib.util.spec_from_file_location('real_loader', sys.argv[1])\n"
        "real = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(real)\n"
        "from pydantic.plugin import _loader as ours\n"
        "assert list(real.get_plugins()) == list(ours.get_plugins()) == []\n"
    )
    env = {
        **os.environ,
        "PYDANTIC_DISABLE_PLUGINS": "1",
        "PYTHONPATH": str(ROOT / "layers/core/python"),
    }
    done = subprocess.run(
        [sys.executable, "-c", probe, str(package / "plugin/_loader.py")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
