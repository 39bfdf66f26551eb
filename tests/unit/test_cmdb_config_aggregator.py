"""The AWS Config adapter's aggregator calls against botocore's Stubber: the requests and the
answers are checked against botocore's Config service model (a wrong parameter name or shape
fails), since moto serves these calls for one account and one region only. Also where a
discovered CI lives (`discovery.located`)."""

import json
from datetime import UTC, datetime

import pytest
from botocore.stub import Stubber

from omp.adapters.aws import client, reset_clients
from omp.adapters.aws_config import ConfigDiscovery
from omp.domain.cmdb import discovery
from omp.domain.errors import DomainError

A, B = "111111111111", "222222222222"


@pytest.fixture
def stub(monkeypatch):
    # a fresh client (no emulator endpoint from another test), stubbed: nothing leaves the process
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_CONFIG", raising=False)
    reset_clients()
    with Stubber(client("config")) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()
    reset_clients()


def ident(account, region, resource_id, kind="AWS::DynamoDB::Table"):
    return {
        "SourceAccountId": account,
        "SourceRegion": region,
        "ResourceId": resource_id,
        "ResourceType": kind,
    }


def key(account, region, resource_id, kind="AWS::DynamoDB::Table"):
    return {"resourceType": kind, "resourceId": resource_id, "accountId": account, "region": region}


def item(account, region, name):
    return {
        "version": "1.3",
        "accountId": account,
        "configurationItemCaptureTime": datetime(2026, 3, 1, tzinfo=UTC),
        "configurationItemStatus": "OK",
        "configurationStateId": "1",
        "arn": f"arn:aws:dynamodb:{region}:{account}:table/{name}",
        "resourceType": "AWS::DynamoDB::Table",
        "resourceId": name,
        "resourceName": name,
        "awsRegion": region,
        "configuration": json.dumps({"tableName": name}),
    }


def test_list_aggregate_pages_every_account_and_region(stub):
    stub.add_response(
        "list_aggregate_discovered_resources",
        {
            "ResourceIdentifiers": [
                {**ident(A, "us-east-1", "orders"), "ResourceName": "orders"},
                ident(B, "eu-west-1", "orders"),
            ],
            "NextToken": "page-2",
        },
        {
            "ConfigurationAggregatorName": "org",
            "ResourceType": "AWS::DynamoDB::Table",
            "Limit": 100,
        },
    )
    stub.add_response(
        "list_aggregate_discovered_resources",
        {"ResourceIdentifiers": []},
        {
            "ConfigurationAggregatorName": "org",
            "ResourceType": "AWS::DynamoDB::Table",
            "Limit": 100,
            "NextToken": "page-2",
        },
    )
    config = ConfigDiscovery()
    keys, token = config.list_aggregate("org", "AWS::DynamoDB::Table", None)
    assert keys == [key(A, "us-east-1", "orders"), key(B, "eu-west-1", "orders")]
    assert token == "page-2"
    assert config.list_aggregate("org", "AWS::DynamoDB::Table", "page-2") == ([], None)


def test_batch_get_aggregate_names_the_source_account_and_region(stub):
    stub.add_response(
        "batch_get_aggregate_resource_config",
        {
            "BaseConfigurationItems": [item(A, "us-east-1", "orders")],
            "UnprocessedResourceIdentifiers": [ident(B, "eu-west-1", "orders")],
        },
        {
            "ConfigurationAggregatorName": "org",
            "ResourceIdentifiers": [
                ident(A, "us-east-1", "orders"),
                ident(B, "eu-west-1", "orders"),
            ],
        },
    )
    items, unprocessed = ConfigDiscovery().batch_get_aggregate(
        "org", [key(A, "us-east-1", "orders"), key(B, "eu-west-1", "orders")]
    )
    assert [(i["accountId"], i["resourceId"]) for i in items] == [(A, "orders")]
    assert unprocessed == [key(B, "eu-west-1", "orders")]
    # the item parses into a CI located in its own account and region
    parsed = discovery.parse(items[0])
    assert parsed.arn == "arn:aws:dynamodb:us-east-1:111111111111:table/orders"
    assert discovery.located(parsed.attributes) == (A, "us-east-1")


def test_batch_get_aggregate_takes_at_most_100_keys_and_skips_an_empty_call(stub):
    config = ConfigDiscovery()
    with pytest.raises(ValueError):
        config.batch_get_aggregate("org", [key(A, "us-east-1", f"t{i}") for i in range(101)])
    assert config.batch_get_aggregate("org", []) == ([], [])  # no response queued: no call


def test_a_missing_aggregator_has_its_own_code_and_throttling_stays_transient(stub):
    stub.add_client_error(
        "list_aggregate_discovered_resources",
        service_error_code="NoSuchConfigurationAggregatorException",
        service_message="The configuration aggregator does not exist.",
    )
    stub.add_client_error("batch_get_aggregate_resource_config", "ThrottlingException")
    config = ConfigDiscovery()
    with pytest.raises(DomainError) as missing:
        config.list_aggregate("nope", "AWS::SNS::Topic", None)
    assert missing.value.code == "CONFIG_AGGREGATOR_NOT_FOUND" and missing.value.status == 404
    assert "nope" in str(missing.value)
    with pytest.raises(DomainError) as throttled:
        config.batch_get_aggregate("org", [key(A, "us-east-1", "orders")])
    assert throttled.value.code == "THROTTLED"


def test_the_account_local_calls_are_unchanged(stub):
    stub.add_response(
        "list_discovered_resources",
        {"resourceIdentifiers": [{"resourceType": "AWS::SNS::Topic", "resourceId": "arn:t"}]},
        {"resourceType": "AWS::SNS::Topic", "limit": 100},
    )
    stub.add_response(
        "batch_get_resource_config",
        {"baseConfigurationItems": []},
        {"resourceKeys": [{"resourceType": "AWS::SNS::Topic", "resourceId": "arn:t"}]},
    )
    config = ConfigDiscovery()
    keys, _ = config.list_discovered("AWS::SNS::Topic", None)
    assert keys == [{"resourceType": "AWS::SNS::Topic", "resourceId": "arn:t"}]
    assert config.batch_get(keys) == ([], [])


@pytest.mark.parametrize(
    ("attributes", "where"),
    [
        (
            {"account_id": A, "region": "eu-west-1", "arn": "arn:aws:sqs:us-east-1:9:q"},
            (A, "eu-west-1"),
        ),
        ({"arn": f"arn:aws:sns:ap-south-1:{B}:alerts"}, (B, "ap-south-1")),
        ({"arn": f"arn:aws:ec2:us-east-1:{A}:instance/i-1", "region": ""}, (A, "us-east-1")),
        ({"resource_id": "orders"}, None),
        ({"arn": "not-an-arn", "account_id": A}, None),
        ({"arn": f"arn:aws:iam::{A}:role/x"}, None),  # a global resource: no region
    ],
)
def test_where_a_ci_lives(attributes, where):
    assert discovery.located(attributes) == where
