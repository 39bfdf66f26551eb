"""The deps layer is built without Docker and cached by requirements hash."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.stacks import bundling


def test_requirements_hash_changes_with_requirements(tmp_path: Path) -> None:
    req = tmp_path / "requirements.txt"
    req.write_text("pydantic==2.12.5\n")
    first = bundling.requirements_hash(req)
    assert bundling.requirements_hash(req) == first
    req.write_text("pydantic==2.12.4\n")
    assert bundling.requirements_hash(req) != first


def test_local_bundling_reuses_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    req = tmp_path / "requirements.txt"
    req.write_text("example==1.0\n")
    monkeypatch.setattr(bundling, "BUILD_DIR", tmp_path / ".build")
    cached = tmp_path / ".build" / "deps-layer" / bundling.requirements_hash(req)
    (cached / "python" / "example").mkdir(parents=True)
    (cached / "python" / "example" / "__init__.py").write_text("")
    (cached / ".complete").write_text("ok\n")

    def no_pip(*args: object, **kwargs: object) -> None:
        raise AssertionError("pip must not run when the cache is complete")

    monkeypatch.setattr(bundling.subprocess, "run", no_pip)
    out = tmp_path / "out"
    assert bundling.PipLayerBundling(req).try_bundle(str(out), image=None) is True
    assert (out / "python" / "example" / "__init__.py").exists()


def test_pip_targets_python313_arm64_wheels_only() -> None:
    args = " ".join(bundling.PIP_TARGET_ARGS)
    assert "--platform manylinux_2_34_aarch64" in args
    assert "--only-binary=:all:" in args and "--python-version 3.13" in args


def test_placeholder_layer_only_with_the_flag(dev) -> None:  # type: ignore[no-untyped-def]
    # the session synth used the flag: its deps layer asset is the placeholder
    placeholders = list(dev.outdir.glob("asset.*/python/PLACEHOLDER.txt"))
    assert placeholders
