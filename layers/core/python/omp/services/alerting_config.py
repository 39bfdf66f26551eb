"""The alerting settings: read and replace them (`/v1/alerting-config`), and turn them into
the pipeline's configuration (`pipeline_config`), which process-alerts and sweep-alerts build
once per batch / invocation. No stored settings: the code defaults."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

from omp.domain import alerting_config as ac

if TYPE_CHECKING:
    # The pipeline's side (correlation, dedup, incidents) is imported where it is built, so the
    # /v1/alerting-config routes do not load it (cold start).
    from omp.analytics.correlation import Rule, TopologyPort
    from omp.ports import Clock
    from omp.services.pipeline import PipelineConfig, ResourceResolver, Suppression

TOPOLOGY_RULE = "topology"


class AlertingConfigStore(Protocol):
    def get(self) -> dict[str, Any] | None: ...

    def put(
        self, config: dict[str, Any], expected_version: int, *, actor: str, now: Any
    ) -> dict[str, Any]: ...


def get_config(configs: AlertingConfigStore) -> ac.AlertingConfigView:
    """The stored settings, or the defaults with version 0 (they are what the pipeline uses)."""
    return ac.view(configs.get())


def put_config(
    body: ac.PutAlertingConfig, *, actor: str, configs: AlertingConfigStore, clock: Clock
) -> ac.AlertingConfigView:
    stored = configs.put(ac.document(body), body.version, actor=actor, now=clock.now())
    return ac.view(stored)


def load(configs: AlertingConfigStore) -> ac.AlertingSettings:
    stored = configs.get()
    if stored is None:
        return ac.AlertingSettings()
    return ac.AlertingSettings.model_validate(stored["config"])


def rules(settings: ac.AlertingSettings, topology: TopologyPort | None) -> tuple[Rule, ...]:
    """Topology first (when enabled and a graph is there), then the label groups in order."""
    from omp.analytics.correlation import LabelGroupRule, TopologyRule

    out: list[Rule] = []
    t = settings.correlation.topology
    if topology is not None and t.enabled:
        out.append(
            TopologyRule(
                name=TOPOLOGY_RULE,
                topology=topology,
                k=t.hops,
                window=timedelta(seconds=t.window_seconds),
            )
        )
    for g in settings.correlation.groups:
        out.append(
            LabelGroupRule(
                name=g.name,
                by=tuple(g.by),
                window=timedelta(seconds=g.window_seconds),
                open_after_alarms=g.open_after_alarms,
                open_after=(
                    timedelta(seconds=g.open_after_seconds)
                    if g.open_after_seconds is not None
                    else None
                ),
                match=dict(g.match),
            )
        )
    return tuple(out)


def pipeline_config(
    settings: ac.AlertingSettings,
    *,
    suppression: Suppression | None = None,
    topology: TopologyPort | None = None,
    resources: ResourceResolver | None = None,
) -> PipelineConfig:
    """The pipeline's configuration for these settings. Without a topology port (no CMDB)
    the topology rule is left out; with it, new alarms are resolved to CIs (`resources`)."""
    from omp.services.pipeline import NO_SUPPRESSION, PipelineConfig

    use_topology = topology is not None and settings.correlation.topology.enabled
    return PipelineConfig(
        dedup=ac.dedup_policy(settings),
        incident=ac.incident_policy(settings),
        rules=rules(settings, topology if use_topology else None),
        suppression=NO_SUPPRESSION if suppression is None else suppression,
        resources=resources if use_topology else None,
    )
