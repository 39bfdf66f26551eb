"""The DynamoDB repository tests of tests/integration, again against real DynamoDB Local.

`import *` collects the very same test functions (and their `repo` fixture) here, where the
`dynamodb` fixture of tests/conformance/conftest.py gives them DynamoDB Local instead of moto.
Below them, checks only a real DynamoDB can answer: the catalog's CreateTable requests and TTL.
"""

import pytest

from infra import wiring
from tests import support
from tests.integration import test_dynamo_alerting as alerting
from tests.integration import test_dynamo_repositories as integration
from tests.integration.test_dynamo_alerting import *  # noqa: F403
from tests.integration.test_dynamo_repositories import *  # noqa: F403

pytestmark = pytest.mark.conformance

REUSED = sorted(name for name in dir(integration) if name.startswith("test_"))
REUSED_ALERTING = sorted(name for name in dir(alerting) if name.startswith("test_"))


def test_the_integration_repository_tests_are_collected_here():
    assert len(REUSED) >= 8, REUSED
    for name in REUSED:
        assert globals()[name] is getattr(integration, name)


def test_the_alerting_store_tests_are_collected_here():
    """Every test and fixture of both modules arrives here (no name of one hides the other's)."""
    assert len(REUSED_ALERTING) >= 15, REUSED_ALERTING
    assert not set(REUSED_ALERTING) & set(REUSED)
    for name in [*REUSED_ALERTING, "states", "incident_repo", "groups", "calls"]:
        assert globals()[name] is getattr(alerting, name)


def test_the_server_is_dynamodb_local(dynamodb_local, local_dynamodb):
    assert local_dynamodb.meta.endpoint_url == dynamodb_local.endpoint
    assert local_dynamodb.list_tables()["TableNames"] == []  # every test starts empty
    assert dynamodb_local.version != "unknown"


def test_the_server_validates_like_dynamodb(local_dynamodb):
    """moto (5.1) creates a table named `omp test!`; real DynamoDB, and so DynamoDB Local, refuse
    it. Proof that this tier does not silently run on a permissive fake."""
    with pytest.raises(local_dynamodb.exceptions.ClientError) as err:
        local_dynamodb.create_table(
            TableName="omp test!",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    assert err.value.response["Error"]["Code"] == "ValidationException"


@pytest.mark.parametrize("table", wiring.TABLES, ids=lambda t: t.name)
def test_create_table_request_is_accepted(local_dynamodb, table):
    request = wiring.create_table_request(table, support.PREFIX + table.name)
    created = local_dynamodb.create_table(**request)["TableDescription"]
    described = local_dynamodb.describe_table(TableName=request["TableName"])["Table"]
    assert described["TableStatus"] == "ACTIVE"
    assert created["KeySchema"] == described["KeySchema"] == request["KeySchema"]
    assert described["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    wanted = {ix["IndexName"]: ix for ix in request.get("GlobalSecondaryIndexes", [])}
    indexes = {ix["IndexName"]: ix for ix in described.get("GlobalSecondaryIndexes", [])}
    assert sorted(indexes) == sorted(wanted) == sorted(table.indexes)
    for name, index in wanted.items():
        assert indexes[name]["KeySchema"] == index["KeySchema"]
        assert indexes[name]["Projection"] == index["Projection"]
        assert indexes[name]["IndexStatus"] == "ACTIVE"


def test_catalog_tables_are_all_created(dynamodb):
    names = dynamodb.list_tables()["TableNames"]
    assert sorted(names) == sorted(support.resolve("table", t.name) for t in wiring.TABLES)


@pytest.mark.parametrize("table", wiring.TABLES, ids=lambda t: t.name)
def test_ttl_can_be_enabled(dynamodb, table):
    name = support.resolve("table", table.name)
    attribute = wiring.ttl_attribute(table)
    spec = {"Enabled": True, "AttributeName": attribute}
    answer = dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=spec)
    assert answer["TimeToLiveSpecification"] == spec
    described = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    assert described["TimeToLiveStatus"] in {"ENABLING", "ENABLED"}
    assert described["AttributeName"] == attribute
