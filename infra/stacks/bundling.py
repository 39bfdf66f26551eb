"""Lambda layer assets built without Docker.

The deps layer is `pip install`ed for python3.13 on arm64 (manylinux wheels only) by a local
bundler (`ILocalBundling`); the result is cached under `.build/deps-layer/<hash>` so repeated
synths do not download again. The fast infra tests pass `-c omp:skip_deps_bundling=true` to use an
empty placeholder layer instead.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_lambda as lambda_

ROOT = Path(__file__).resolve().parents[2]
DEPS_DIR = ROOT / "layers" / "deps"
CORE_DIR = ROOT / "layers" / "core"
BUILD_DIR = ROOT / ".build"

# pip does not widen a manylinux_2_x platform to older glibc tags, so each tag the layer's
# wheels use is named: Lambda's python3.13 runtime (Amazon Linux 2023, glibc 2.34) runs them all.
PIP_TARGET_ARGS = (
    "--platform", "manylinux_2_34_aarch64",
    "--platform", "manylinux_2_28_aarch64",  # google-re2
    "--platform", "manylinux2014_aarch64",
    "--only-binary=:all:",
    "--python-version", "3.13",
    "--implementation", "cp",
)  # fmt: skip

# The Lambda python3.13 runtime ships boto3/botocore/s3transfer; a second copy in the layer would
# shadow the runtime's and add ~25 MB. They arrive here only as transitive dependencies
# (aws-xray-sdk -> botocore), so they are removed from the layer.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer")

ASSET_EXCLUDES = ["__pycache__", "*.pyc", ".pytest_cache", ".mypy_cache", ".DS_Store"]


def requirements_hash(requirements: Path) -> str:
    digest = hashlib.sha256()
    digest.update(requirements.read_bytes())
    digest.update(" ".join(PIP_TARGET_ARGS).encode())
    digest.update(" ".join(RUNTIME_PROVIDED).encode())
    return digest.hexdigest()[:24]


def build_deps_layer(requirements: Path = DEPS_DIR / "requirements.txt") -> Path:
    """pip-install the requirements into `.build/deps-layer/<hash>/python` once; return the dir."""
    cache = BUILD_DIR / "deps-layer" / requirements_hash(requirements)
    if (cache / ".complete").exists():
        return cache
    cache.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="deps-", dir=cache.parent))
    target = staging / "python"
    cmd = [
        sys.executable, "-m", "pip", "install", "--quiet", "--no-compile",
        "--disable-pip-version-check", "--no-cache-dir",
        "-r", str(requirements), *PIP_TARGET_ARGS, "-t", str(target),
    ]  # fmt: skip
    print(f"[omp] building deps layer: {' '.join(cmd)}", file=sys.stderr)
    try:
        subprocess.run(cmd, check=True)
        for name in RUNTIME_PROVIDED:
            shutil.rmtree(target / name, ignore_errors=True)
            for info in target.glob(f"{name}-*.dist-info"):
                shutil.rmtree(info, ignore_errors=True)
        for cached in target.rglob("__pycache__"):
            shutil.rmtree(cached, ignore_errors=True)
        (staging / ".complete").write_text("ok\n")
        if cache.exists():
            shutil.rmtree(cache)
        staging.rename(cache)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return cache


@jsii.implements(cdk.ILocalBundling)
class PipLayerBundling:
    """Local bundling for the deps layer: copies the cached pip install into the asset output."""

    def __init__(self, requirements: Path) -> None:
        self._requirements = requirements

    def try_bundle(self, output_dir: str, *args: Any, **kwargs: Any) -> bool:
        built = build_deps_layer(self._requirements)
        shutil.copytree(built / "python", Path(output_dir) / "python", dirs_exist_ok=True)
        return True


def deps_layer_code(skip_bundling: bool) -> lambda_.Code:
    if skip_bundling:
        placeholder = BUILD_DIR / "deps-layer-placeholder"
        (placeholder / "python").mkdir(parents=True, exist_ok=True)
        (placeholder / "python" / "PLACEHOLDER.txt").write_text(
            "synthesized with omp:skip_deps_bundling=true; not deployable\n"
        )
        return lambda_.Code.from_asset(str(placeholder))
    return lambda_.Code.from_asset(
        str(DEPS_DIR),
        asset_hash_type=cdk.AssetHashType.SOURCE,
        bundling=cdk.BundlingOptions(
            # Never used (local bundling succeeds or raises); the API requires an image.
            image=cdk.DockerImage.from_registry("public.ecr.aws/sam/build-python3.13"),
            local=PipLayerBundling(DEPS_DIR / "requirements.txt"),
        ),
    )


def core_layer_code() -> lambda_.Code:
    return lambda_.Code.from_asset(str(CORE_DIR), exclude=ASSET_EXCLUDES)


def function_code(service: str) -> lambda_.Code:
    folder = ROOT / "functions" / service
    if not folder.is_dir():
        raise FileNotFoundError(
            f"functions/{service} does not exist (catalog has {service} functions)"
        )
    return lambda_.Code.from_asset(str(folder), exclude=ASSET_EXCLUDES)
