"""The catalog and the synthesized templates agree; a wrong catalog is detected."""

from __future__ import annotations

import copy
import dataclasses

from infra import wiring
from infra.wiring import Catalog
from tests.infra.catalogs import with_function
from tests.infra.checks import check_functions
from tests.infra.synth import Synth


def test_every_catalog_function_agrees_with_the_template(stage_synth: Synth) -> None:
    assert check_functions(stage_synth) == []


def test_small_catalog_agrees_with_its_template(small: Synth) -> None:
    assert check_functions(small) == []


def test_read_only_function_has_no_put_item(dev: Synth) -> None:
    from tests.infra.checks import lambda_by_name, role_statements

    for fn in wiring.FUNCTIONS:
        if dict(fn.tables) == {"monitoring": "read"} and not fn.idempotent:
            stack, _, res = lambda_by_name(dev, f"omp-dev-{fn.name}")[0]
            statements, _ = role_statements(dev, stack, res)
            actions = {
                a
                for st in statements
                for a in (st["Action"] if isinstance(st["Action"], list) else [st["Action"]])
            }
            assert "dynamodb:GetItem" in actions and "dynamodb:Query" in actions
            assert not actions & {
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem",
                "dynamodb:BatchWriteItem",
            }


def test_wrong_catalog_is_detected(small: Synth) -> None:
    catalog = small.catalog
    cases = {
        # the template grants write; a catalog saying "read" must be flagged
        "write actions on table monitoring": with_function(
            catalog, "consume-work", tables={"monitoring": "read"}
        ),
        # the template grants the monitoring table; a catalog without it must be flagged
        "names resources outside its catalog entry": with_function(catalog, "get-thing", tables={}),
        # a grant the catalog asks for but the template lacks
        "no IAM grant for its table security": with_function(
            catalog, "get-thing", tables={"monitoring": "read", "security": "read"}
        ),
        "API methods for GET /v1/things/{id}": with_function(
            catalog, "get-thing", trigger=wiring.HttpRoute("GET", "/v1/things/{id}", "things:read")
        ),
        "public route has authorization": with_function(
            catalog, "get-thing", trigger=wiring.HttpRoute("GET", "/v1/things/{thing_id}", "public")
        ),
        "BatchSize": with_function(
            catalog,
            "consume-work",
            trigger=wiring.QueueTrigger("work", batch_size=9, max_batching_window_s=2),
        ),
        "rule pattern": with_function(
            catalog, "on-ticket", trigger=wiring.EventRule({"source": ["omp.other"]})
        ),
        "expected the default bus": with_function(
            catalog,
            "on-ticket",
            trigger=wiring.EventRule(
                {"source": ["omp.itsm"], "detail": {"priority": [{"numeric": [">=", 3]}]}},
                bus=wiring.DEFAULT_BUS,
            ),
        ),
        "schedule rules": with_function(catalog, "sweep", trigger=wiring.Schedule("rate(1 hour)")),
        "Handler": with_function(catalog, "sweep", handler="monitoring/sweeper"),
        "environment keys differ": with_function(catalog, "sweep", buses=(wiring.PLATFORM_BUS,)),
        "MemorySize": with_function(catalog, "sweep", memory_mb=512),
        "Lambda functions named": dataclasses.replace(
            catalog,
            functions=(*catalog.functions, dataclasses.replace(catalog.functions[1], name="ghost")),
        ),
        "is not in the catalog": dataclasses.replace(catalog, functions=catalog.functions[:-1]),
    }
    for expected, wrong in cases.items():
        problems = check_functions(small, wrong)
        assert any(expected in p for p in problems), (expected, problems)


def test_tampered_template_is_detected(small: Synth) -> None:
    tampered = copy.deepcopy(small)
    for template in tampered.templates.values():
        for res in template["Resources"].values():
            if res["Type"] == "AWS::IAM::Policy":
                for st in res["Properties"]["PolicyDocument"]["Statement"]:
                    if st["Action"] == "events:PutEvents":
                        st["Resource"] = [
                            "arn:aws:dynamodb:eu-west-1:1:table/omp-dev-security",
                            st["Resource"],
                        ]
                        st["Action"] = ["events:PutEvents", "dynamodb:PutItem"]
    problems = check_functions(tampered)
    assert any("outside its catalog entry" in p and "security" in p for p in problems), problems
    assert any("write actions on table security" in p for p in problems), problems


def test_catalog_from_module_matches_wiring() -> None:
    catalog = Catalog.from_module()
    assert catalog.functions == wiring.FUNCTIONS
    assert [t.name for t in catalog.tables] == [t.name for t in wiring.TABLES]
