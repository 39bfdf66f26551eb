"""Size of every Lambda code asset against Lambda's limits.

- Function code: one asset per service folder, `functions/<service>` (every function of a
  service ships the same folder), with the CDK app's asset excludes.
- Core layer: `layers/core` (the `python/omp` package), same excludes.
- Deps layer: `layers/deps/requirements.txt` pip-installed for python3.13 on arm64 exactly as
  the CDK app's local bundler does (infra/stacks/bundling.py: its pip platform arguments, with
  boto3/botocore/s3transfer removed because the runtime provides them, no __pycache__). The
  bundler's cache `.build/deps-layer/<hash>/` is reused when it is complete; otherwise the
  layer is built into a temporary directory (needs PyPI access) and thrown away afterwards.

Each asset is measured unzipped (the sum of its files' sizes: what Lambda's 250 MB limit counts)
and zipped (deflate level 6, files in sorted order; close to, not byte-identical with, the CDK's
own zip). Limits: function + all its layers <= 250 MB (262,144,000 bytes) unzipped; a zip
uploaded directly <= 50 MB (the CDK uploads through S3, where that limit does not apply).
"""

from __future__ import annotations

import ast
import fnmatch
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.common import ROOT, mib, report, table

UNZIPPED_LIMIT = 262_144_000  # 250 MB: function code + all layers, unzipped
DIRECT_ZIP_LIMIT = 52_428_800  # 50 MB: a zip uploaded directly (not through S3)
BUNDLING = ROOT / "infra" / "stacks" / "bundling.py"
REQUIREMENTS = ROOT / "layers" / "deps" / "requirements.txt"

# What the brief for the CDK app specifies; used only if bundling.py cannot be read.
_FALLBACK = {
    "PIP_TARGET_ARGS": (
        "--platform", "manylinux_2_34_aarch64", "--only-binary=:all:", "--python-version", "3.13",
    ),
    "RUNTIME_PROVIDED": ("boto3", "botocore", "s3transfer"),
    "ASSET_EXCLUDES": ["__pycache__", "*.pyc", ".pytest_cache", ".mypy_cache", ".DS_Store"],
}  # fmt: skip


def bundling_settings() -> dict[str, Any]:
    """The CDK bundler's constants and cache key, read from infra/stacks/bundling.py without
    importing it (it imports aws_cdk): the literal assignments and `requirements_hash` only."""
    settings: dict[str, Any] = {
        "source": "fallback (bundling.py unreadable)",
        **_FALLBACK,
        "hash": None,
    }
    try:
        tree = ast.parse(BUNDLING.read_text())
    except (OSError, SyntaxError):
        return settings
    body: list[ast.stmt] = []
    found = {}
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
        ):
            name = node.targets[0].id
            if name in _FALLBACK:
                try:
                    found[name] = ast.literal_eval(node.value)
                except ValueError:
                    continue
                body.append(node)
        elif isinstance(node, ast.FunctionDef) and node.name == "requirements_hash":
            body.append(node)
    settings.update(found)
    settings["source"] = (
        f"infra/stacks/bundling.py ({', '.join(sorted(found)) or 'no constants found'})"
    )
    if any(isinstance(n, ast.FunctionDef) for n in body) and "PIP_TARGET_ARGS" in found:
        namespace: dict[str, Any] = {"hashlib": hashlib, "Path": Path}
        module = ast.Module(body=body, type_ignores=[])
        exec(
            compile(module, str(BUNDLING), "exec"), namespace
        )  # literal constants + one hash function
        try:
            settings["hash"] = namespace["requirements_hash"](REQUIREMENTS)
        except Exception:
            settings["hash"] = None
    return settings


def _excluded(rel: Path, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatch(part, pat) for part in rel.parts for pat in patterns)


def files(root: Path, excludes: list[str]) -> Iterator[tuple[Path, Path]]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            rel = path.relative_to(root)
            if not _excluded(rel, excludes) and not path.is_symlink():
                yield path, rel


def measure(root: Path, excludes: list[str], workdir: Path, prefix: str = "") -> dict[str, int]:
    """Files under `root` (named `prefix` + their relative path in the zip)."""
    unzipped = count = 0
    archive = workdir / "asset.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for path, rel in files(root, excludes):
            unzipped += path.stat().st_size
            count += 1
            zf.write(path, prefix + rel.as_posix())
    zipped = archive.stat().st_size
    archive.unlink()
    return {"files": count, "unzipped_bytes": unzipped, "zipped_bytes": zipped}


def deps_layer(settings: dict[str, Any], workdir: Path, use_cache: bool = True) -> tuple[Path, str]:
    """The deps layer's asset root (it holds `python/`) and where it came from."""
    if use_cache and settings["hash"]:
        cache = ROOT / ".build" / "deps-layer" / settings["hash"]
        if (cache / ".complete").exists() and (cache / "python").is_dir():
            return cache, f"reused the CDK bundler's cache .build/deps-layer/{settings['hash']}"
    target = workdir / "deps" / "python"
    cmd = [
        sys.executable, "-m", "pip", "install", "--quiet", "--no-compile",
        "--disable-pip-version-check", "--no-cache-dir", "-r", str(REQUIREMENTS),
        *settings["PIP_TARGET_ARGS"], "-t", str(target),
    ]  # fmt: skip
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(
            f"building the deps layer failed ({' '.join(cmd)}):\n{proc.stderr[-4000:]}"
        )
    for name in settings["RUNTIME_PROVIDED"]:
        shutil.rmtree(target / name, ignore_errors=True)
        for info in target.glob(f"{name}-*.dist-info"):
            shutil.rmtree(info, ignore_errors=True)
    for cached in list(target.rglob("__pycache__")):
        shutil.rmtree(cached, ignore_errors=True)
    took = time.perf_counter() - started
    why = "cache not used (--no-cache)" if not use_cache else "no complete cache under .build/"
    return target.parent, f"built into a temporary directory in {took:.0f} s ({why})"


def _largest_packages(python_dir: Path, n: int = 8) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for entry in python_dir.iterdir():
        if entry.is_dir():
            total = sum(
                p.stat().st_size for p in entry.rglob("*") if p.is_file() and not p.is_symlink()
            )
        else:
            total = entry.stat().st_size
        key = entry.name.split("-")[0] if entry.name.endswith(".dist-info") else entry.name
        sizes[key] = sizes.get(key, 0) + total
    return dict(sorted(sizes.items(), key=lambda kv: -kv[1])[:n])


def run(use_cache: bool = True) -> dict[str, Any]:
    from infra import wiring

    settings = bundling_settings()
    excludes = list(settings["ASSET_EXCLUDES"])
    with tempfile.TemporaryDirectory(prefix="omp-bench-assets-") as tmp:
        work = Path(tmp)
        services = sorted({fn.service for fn in wiring.FUNCTIONS})
        functions_code = {s: measure(ROOT / "functions" / s, excludes, work) for s in services}
        core = measure(ROOT / "layers" / "core", excludes, work)
        deps_root, deps_origin = deps_layer(settings, work, use_cache)
        # The bundler copies `python/` into the asset output as is (not the `.complete` marker).
        deps = measure(deps_root / "python", [], work, prefix="python/")
        deps["largest_packages_bytes"] = _largest_packages(deps_root / "python")  # type: ignore[assignment]

    per_function = []
    for fn in wiring.FUNCTIONS:
        code = functions_code[fn.service]
        total = code["unzipped_bytes"] + core["unzipped_bytes"] + deps["unzipped_bytes"]
        per_function.append(
            {
                "function": fn.name,
                "asset": f"functions/{fn.service}",
                "unzipped_total_bytes": total,
                "share_of_limit": round(total / UNZIPPED_LIMIT, 4),
                "meets_target": total <= UNZIPPED_LIMIT,
            }
        )
    return {
        "bundling": {
            "settings_from": settings["source"],
            "pip_target_args": list(settings["PIP_TARGET_ARGS"]),
            "removed_runtime_provided": list(settings["RUNTIME_PROVIDED"]),
            "asset_excludes": excludes,
            "deps_layer": deps_origin,
            "zip": "deflate level 6, sorted",
        },
        "limits": {"unzipped_bytes": UNZIPPED_LIMIT, "direct_upload_zip_bytes": DIRECT_ZIP_LIMIT},
        "assets": {
            **{f"functions/{s}": v for s, v in functions_code.items()},
            "layers/core": core,
            "layers/deps (built)": deps,
        },
        "functions": per_function,
        "target": "function code + core layer + deps layer <= 250 MB unzipped",
        "all_targets_met": all(f["meets_target"] for f in per_function),
    }


def summary(result: dict[str, Any]) -> str:
    assets = [
        (
            name,
            a["files"],
            f"{a['unzipped_bytes']:,}",
            mib(a["unzipped_bytes"]),
            f"{a['zipped_bytes']:,}",
            mib(a["zipped_bytes"]),
        )
        for name, a in result["assets"].items()
    ]
    fns = [
        (
            f["function"],
            f["asset"],
            f"{f['unzipped_total_bytes']:,}",
            mib(f["unzipped_total_bytes"]),
            f"{100 * f['share_of_limit']:.1f}%",
            "PASS" if f["meets_target"] else "FAIL",
        )
        for f in result["functions"]
    ]
    deps = result["assets"]["layers/deps (built)"]
    largest = ", ".join(f"{k} {mib(v)}" for k, v in deps["largest_packages_bytes"].items())
    return "\n".join(
        [
            "### Asset sizes",
            "",
            f"Deps layer: {result['bundling']['deps_layer']}; "
            f"pip {' '.join(result['bundling']['pip_target_args'])}",
            "",
            table(
                ["asset", "files", "unzipped bytes", "unzipped", "zipped bytes", "zipped"], assets
            ),
            "",
            f"Largest in the deps layer: {largest}",
            "",
            table(
                [
                    "function",
                    "code asset",
                    "function + layers, unzipped bytes",
                    "unzipped",
                    "of 250 MB",
                    "<= 250 MB",
                ],
                fns,
            ),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if set(args) - {"--no-cache"}:
        print("usage: python -m bench.asset_sizes [--no-cache]", file=sys.stderr)
        return 2
    started = time.perf_counter()
    result = run(use_cache="--no-cache" not in args)
    return report("asset_sizes", result, summary(result), started)


if __name__ == "__main__":
    sys.exit(main())
