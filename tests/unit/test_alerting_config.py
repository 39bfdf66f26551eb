"""The alerting settings: defaults equal the code defaults, bounds, their translation into the
pipeline's configuration, and the CMDB topology port's laziness."""

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from omp.adapters.cmdb_topology import CmdbTopology, candidates
from omp.adapters.dynamo_alerting_config import MemoryAlertingConfigStore
from omp.analytics.correlation import LabelGroupRule, MemoryTopology, TopologyRule
from omp.domain import alerting_config as ac
from omp.domain.dedup import DedupPolicy
from omp.domain.errors import Conflict
from omp.domain.incidents import IncidentPolicy
from omp.services import alerting_config
from omp.services.pipeline import DEFAULT_RULES, PipelineConfig
from tests.support import ROOT

NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)


def test_the_defaults_are_the_pipelines_code_defaults():
    config = alerting_config.pipeline_config(ac.AlertingSettings())
    assert config.dedup == DedupPolicy() == PipelineConfig().dedup
    assert config.incident == IncidentPolicy()
    assert config.rules == DEFAULT_RULES
    assert config.resources is None


def test_settings_become_rules_in_order_topology_first():
    settings = ac.AlertingSettings.model_validate(
        {
            "flapping": {"flap_changes": 3, "flap_window_seconds": 600, "flap_quiet_seconds": 900},
            "correlation": {
                "topology": {"hops": 3, "window_seconds": 300},
                "groups": [
                    {
                        "name": "db",
                        "by": ["cluster"],
                        "match": {"team": "dba"},
                        "window_seconds": 120,
                        "open_after_alarms": 3,
                        "open_after_seconds": 600,
                    }
                ],
            },
            "incidents": {"auto_resolve": False},
        }
    )
    topology = MemoryTopology()
    config = alerting_config.pipeline_config(settings, topology=topology, resources="R")  # type: ignore[arg-type]
    topo, group = config.rules
    assert topo == TopologyRule("topology", topology, k=3, window=timedelta(seconds=300))
    assert group == LabelGroupRule(
        "db",
        ("cluster",),
        window=timedelta(seconds=120),
        open_after_alarms=3,
        open_after=timedelta(minutes=10),
        match={"team": "dba"},
    )
    assert config.dedup == DedupPolicy(3, timedelta(minutes=10), timedelta(minutes=15))
    assert config.incident.auto_resolve is False
    assert config.resources == "R"


def test_topology_disabled_or_absent_leaves_the_rule_and_the_resolver_out():
    off = ac.AlertingSettings.model_validate({"correlation": {"topology": {"enabled": False}}})
    config = alerting_config.pipeline_config(off, topology=MemoryTopology(), resources="R")  # type: ignore[arg-type]
    assert config.rules == DEFAULT_RULES and config.resources is None
    config = alerting_config.pipeline_config(ac.AlertingSettings(), topology=None)
    assert not any(isinstance(r, TopologyRule) for r in config.rules)


@pytest.mark.parametrize(
    "bad",
    [
        {"correlation": {"topology": {"hops": 6}}},
        {"correlation": {"groups": [{"name": "a", "by": ["x"], "open_after_seconds": 9}]}},
        {"correlation": {"groups": [{"name": "alone", "by": ["x"]}]}},
        {"flapping": {"flap_quiet_seconds": 86401}},
        {"incidents": {"extra": 1}},
    ],
)
def test_out_of_bounds_settings_are_refused(bad):
    with pytest.raises(ValidationError):
        ac.AlertingSettings.model_validate(bad)


def test_put_load_and_a_stale_version():
    store = MemoryAlertingConfigStore()
    assert alerting_config.load(store) == ac.AlertingSettings()
    body = ac.PutAlertingConfig.model_validate({"version": 0, "incidents": {"auto_resolve": False}})

    class Clock:
        def now(self):
            return NOW

    view = alerting_config.put_config(body, actor="ann", configs=store, clock=Clock())
    assert view.version == 1 and view.updated_by == "ann"
    assert alerting_config.load(store).incidents.auto_resolve is False
    assert "version" not in store.stored["config"]
    with pytest.raises(Conflict) as err:
        alerting_config.put_config(body, actor="ann", configs=store, clock=Clock())
    assert err.value.code == "VERSION_CONFLICT" and err.value.details == {"version": 1}


def test_resource_candidates():
    assert candidates("arn:x:1", {"instance": "web-1:9100", "resource": "r"}) == [
        "arn:x:1",
        "r",
        "web-1",
    ]
    assert candidates("db-1:9100", {"instance": "db-1:9100"}) == ["db-1"]
    assert candidates(None, {"instance": "[::1]:9100"}) == ["::1"]
    assert candidates(" ", {}) == []


class _Repo:
    def __init__(self):
        self.asked = []

    def find_by_key(self, type_name, key):
        self.asked.append((type_name, key))
        return None

    def holder(self, type_name, attribute, value):
        self.asked.append((type_name, attribute, value))
        return None


def _no_graph():
    raise AssertionError("the graph must not be connected")


def test_no_ci_found_never_builds_the_graph_and_lookups_are_cached():
    repo = _Repo()
    topo = CmdbTopology(cis=lambda: repo, graph=_no_graph)
    assert topo.ci_of("i-0abc12345", {}) is None
    assert topo.ci_of("i-0abc12345", {}) is None
    assert repo.asked == [("ec2_instance", "instance_id", "i-0abc12345")]
    assert topo.neighbours("i-0abc12345", 2) == set()  # not a CI id: no graph
    assert not topo.graph_connected


def test_the_handler_import_and_a_config_build_do_not_import_gremlin():
    code = (
        "import importlib.util, sys\n"
        "spec = importlib.util.spec_from_file_location('pa', 'functions/monitoring/process_alerts.py')\n"
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
        "from omp.runtime import container\n"
        "from omp.adapters.dynamo_alerting_config import MemoryAlertingConfigStore\n"
        "import os; os.environ['OMP_TABLE_CMDB'] = 't'; os.environ['OMP_TABLE_MONITORING'] = 't'\n"
        "with container.override(alerting_configs=MemoryAlertingConfigStore()):\n"
        "    config = container.pipeline_config()\n"
        "assert config.resources is not None\n"
        "bad = sorted(n for n in sys.modules if n.startswith(('gremlin', 'gremlite')))\n"
        "assert not bad, bad\n"
    )
    env = {"PYTHONPATH": f"{ROOT}/layers/core/python:{ROOT}", "PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True)


def test_a_graph_that_cannot_connect_means_no_topology_not_a_failed_alert():
    from omp.api.incident_impact import affected_services
    from omp.domain.alarms import Severity
    from omp.domain.incidents import IncidentAlarm, open_incident

    class Found(_Repo):
        def find_by_key(self, type_name, key):
            from omp.domain.cmdb.cis import Ci

            return Ci.model_validate(
                {
                    "id": "ci_01KKBSWHG0KCZ7Y3W8V6P5R4QT",
                    "type": "service",
                    "name": key,
                    "natural_key": key,
                    "status": "active",
                    "attributes": {},
                    "sources": ["api"],
                    "created_at": "2026-03-10T12:00:00Z",
                    "updated_at": "2026-03-10T12:00:00Z",
                    "version": 1,
                }
            )

    def unreachable():
        raise OSError("no route to the graph")

    topo = CmdbTopology(cis=Found, graph=unreachable)
    ci_id = topo.ci_of("checkout", {})
    assert ci_id == "ci_01KKBSWHG0KCZ7Y3W8V6P5R4QT"
    assert topo.neighbours(ci_id, 2) == set()
    incident = open_incident(
        incident_id="inc_01KKBSWHG0KCZ7Y3W8V6P5R4QT",
        group_key="g",
        alarms=(IncidentAlarm("alm_1", Severity.WARNING, "checkout", "x"),),
        now=NOW,
        rule="alone",
    )
    assert affected_services(incident, topo) is None
    assert affected_services(incident, None) is None
