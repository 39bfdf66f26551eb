"""In-process synthesis for the infra tests (with the skip-deps-bundling flag)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

import aws_cdk as cdk

from infra.stacks.app_builder import Platform, build
from infra.stacks.config import SKIP_DEPS_BUNDLING
from infra.wiring import Catalog

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Synth:
    stage: str
    outdir: Path
    catalog: Catalog
    templates: dict[str, dict[str, Any]]  # stack artifact id -> template
    violations: list[str] = field(default_factory=list)  # "plugin severity rule path"
    error: str = ""

    def resources(self, type_: str | None = None) -> list[tuple[str, str, dict[str, Any]]]:
        """(stack id, logical id, resource) for every resource (of a type)."""
        return [
            (stack, lid, res)
            for stack, template in self.templates.items()
            for lid, res in template.get("Resources", {}).items()
            if type_ is None or res["Type"] == type_
        ]


def synthesize(
    outdir: Path,
    stage: str,
    catalog: Catalog | None = None,
    context: dict[str, Any] | None = None,
    mutate: Callable[[Platform], None] | None = None,
) -> Synth:
    base = json.loads((ROOT / "cdk.json").read_text())["context"]
    app = cdk.App(
        outdir=str(outdir),
        context={**base, "stage": stage, SKIP_DEPS_BUNDLING: "true", **(context or {})},
    )
    platform = build(app, catalog=catalog)
    if mutate is not None:
        mutate(platform)
    error = ""
    try:
        app.synth()
    except RuntimeError as exc:  # cdk-nag errors interrupt synthesis ("ValidationFailed")
        error = str(exc)
    templates = {
        p.name.removesuffix(".template.json"): json.loads(p.read_text())
        for p in outdir.glob("*.template.json")
    }
    violations: list[str] = []
    report = outdir / "validation-report.json"
    if report.exists():
        for plugin in json.loads(report.read_text()).get("pluginReports", []):
            for v in plugin.get("violations", []):
                for c in v.get("violatingConstructs", []):
                    violations.append(
                        f"{plugin['pluginName']} {v.get('severity')} {v['ruleName']} {c['constructPath']}"
                    )
    # Warnings/errors annotated on constructs (what `cdk synth` prints) are findings too.
    for metadata in sorted(outdir.glob("*.metadata.json")):
        for path, entries in json.loads(metadata.read_text()).items():
            for entry in entries:
                if entry.get("type") in ("aws:cdk:warning", "aws:cdk:error"):
                    violations.append(f"annotation {entry['type']} {path}: {entry.get('data')}")
    return Synth(
        stage=stage,
        outdir=outdir,
        catalog=catalog or Catalog.from_module(),
        templates=templates,
        violations=violations,
        error=error,
    )
