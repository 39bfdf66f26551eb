"""Synthesis, cdk-nag and cfn-lint over both stages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3

from infra import wiring
from infra.wiring import Catalog
from tests.infra.catalogs import small_catalog, with_function
from tests.infra.checks import lambda_by_name
from tests.infra.synth import Synth, synthesize

EXPECTED_STACKS = {
    "Foundation",
    "Network",
    "ServiceMonitoring",
    "ServiceMonitoringNotifications",  # wiring.Function.stack: a service split over stacks
    "ServiceMonitoringMetrics",
    "ServiceSecurity",
    "Api",
    "Observability",
}
MAX_RESOURCES = 400  # CloudFormation's limit is 500: leave room to grow before splitting


def test_synth_succeeds(stage_synth: Synth) -> None:
    assert stage_synth.error == ""
    assert set(stage_synth.templates) >= EXPECTED_STACKS


def test_cdk_nag_has_no_unacknowledged_findings(stage_synth: Synth, small: Synth) -> None:
    assert stage_synth.violations == []
    assert small.violations == []
    assert small.error == ""


def test_cdk_nag_findings_are_reported(tmp_path: Path) -> None:
    """The harness sees an unacknowledged finding (so a clean result above means something)."""

    def add_insecure_bucket(platform: object) -> None:
        s3.Bucket(platform.foundation, "Insecure")  # type: ignore[attr-defined]

    synth = synthesize(tmp_path, "dev", catalog=small_catalog(), mutate=add_insecure_bucket)
    assert "ValidationFailed" in synth.error
    assert any("AwsSolutions-S10 Foundation/Insecure" in v for v in synth.violations)


def test_cfn_lint_reports_no_errors(dev: Synth, prod: Synth, small: Synth) -> None:
    templates = [
        str(p) for s in (dev, prod, small) for p in sorted(s.outdir.glob("*.template.json"))
    ]
    assert len(templates) >= 3 * len(EXPECTED_STACKS) - 1
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), "--format", "parseable", *templates],
        capture_output=True,
        text=True,
        check=False,
    )
    errors = [
        line
        for line in result.stdout.splitlines()
        if ":E" in line or line.split(":")[-2:-1] == ["error"]
    ]
    assert result.returncode & 2 == 0, result.stdout + result.stderr
    assert errors == []


def test_every_stack_stays_well_below_the_resource_limit(stage_synth: Synth) -> None:
    for stack, template in stage_synth.templates.items():
        assert len(template["Resources"]) < MAX_RESOURCES, stack


def test_no_circular_stack_dependencies(stage_synth: Synth, small: Synth) -> None:
    manifest = cdk.cx_api.CloudAssembly(str(stage_synth.outdir))
    assert {s.id for s in manifest.stacks_recursively} >= EXPECTED_STACKS
    # Service stacks import from the foundation (and network) only; the API and observability
    # stacks reference functions by name: nothing depends on the API or observability stacks.
    for stack in manifest.stacks_recursively:
        deps = {d.id for d in stack.dependencies}
        assert "Api" not in deps and "Observability" not in deps, stack.id
    # ... and the stacks of one service do not depend on each other either.
    for synth in (stage_synth, small):
        for stack in cdk.cx_api.CloudAssembly(str(synth.outdir)).stacks_recursively:
            if stack.id.startswith("Service"):
                deps = {d.id for d in stack.dependencies if not d.id.endswith(".assets")}
                assert deps <= {"Foundation", "Network"}, (stack.id, deps)


def service_stack_id(fn: wiring.Function) -> str:
    return "Service" + "".join(word.capitalize() for word in fn.stack_group.split("-"))


def test_every_function_is_built_in_the_stack_its_catalog_entry_names(
    stage_synth: Synth, small: Synth
) -> None:
    for synth in (stage_synth, small):
        for fn in synth.catalog.functions:
            found = lambda_by_name(synth, f"omp-{synth.stage}-{fn.name}")
            assert [stack for stack, _, _ in found] == [service_stack_id(fn)], fn.name
    assert service_stack_id(wiring.function("score-metrics")) == "ServiceMonitoringMetrics"
    # Only the stack with the in-VPC function imports the network.
    small_manifest = cdk.cx_api.CloudAssembly(str(small.outdir))
    deps = {s.id: {d.id for d in s.dependencies} for s in small_manifest.stacks}
    assert "Network" in deps["ServiceMonitoringRunbooks"]
    assert "Network" not in deps["ServiceMonitoring"]


def test_a_service_split_over_stacks_keeps_its_own_stack_first() -> None:
    catalog = Catalog.from_module(wiring)
    assert catalog.stacks()[:3] == [
        ("monitoring", ""),
        ("monitoring", "notifications"),
        ("monitoring", "metrics"),
    ]
    assert ("monitoring", "runbooks") in small_catalog().stacks()
    bad = with_function(small_catalog(), "diagnose", stack="Run_Books")
    with pytest.raises(ValueError, match="kebab-case"):
        bad.check()
