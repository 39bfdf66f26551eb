"""Catalog, handlers, OpenAPI document and sample events agree."""

import json

import pytest

from infra import wiring
from omp.runtime import openapi
from tests import support
from tests.support import ROOT, invoke, load_handler


def test_catalog_is_consistent():
    wiring.validate()


@pytest.mark.parametrize("fn", wiring.FUNCTIONS, ids=lambda f: f.name)
def test_handler_exists_and_serves_exactly_its_catalog_route(fn):
    module = load_handler(fn.handler)
    assert callable(module.lambda_handler)
    route = getattr(module, "route", None)
    if not isinstance(fn.trigger, wiring.HttpRoute):
        assert route is None, f"{fn.name} is not an HTTP function but declares a route"
        return
    assert (route.method, route.path) == (fn.trigger.method, fn.trigger.path)
    assert module.lambda_handler.route is route
    assert route.public == (fn.trigger.permission == "public")
    assert route.idempotent == fn.idempotent, "Idempotency-Key needs the idempotency table"


@pytest.mark.parametrize("fn", wiring.FUNCTIONS, ids=lambda f: f.name)
def test_every_function_runs_with_its_sample_event(platform, fn):
    event = json.loads((ROOT / "events" / f"{fn.name}.json").read_text())
    if isinstance(fn.trigger, wiring.Authorizer):
        with pytest.raises(Exception, match="Unauthorized"):
            invoke(fn.name, event)  # the sample's token is not seeded
        return
    result = invoke(fn.name, event)
    if isinstance(fn.trigger, wiring.HttpRoute):
        assert result["statusCode"] < 500, result
    elif isinstance(fn.trigger, wiring.QueueTrigger):
        assert result == {"batchItemFailures": []}
    else:
        assert isinstance(result, dict)


def test_openapi_document_has_not_drifted():
    fresh = openapi.render(openapi.build(ROOT / "functions", wiring))
    assert (ROOT / "docs" / "openapi.json").read_text() == fresh, "run `make openapi`"
    assert openapi.PACKAGED.read_text() == fresh, "run `make openapi`"


def test_openapi_lists_every_documented_route():
    doc = json.loads(openapi.PACKAGED.read_text())
    for fn in wiring.http_functions():
        operation = doc["paths"][fn.trigger.path][fn.trigger.method.lower()]
        if fn.trigger.permission == "public":
            assert "security" not in operation
            continue
        assert operation["security"] == [{"bearer": []}]
        assert operation["x-omp-permission"] == fn.trigger.permission
        assert {"401", "403", "422"} <= set(operation["responses"])


def test_openapi_route_serves_the_packaged_document(platform):
    status, body, _ = support.call_api("get-openapi", principal="", roles="")
    assert status == 200 and body["openapi"].startswith("3.1")
