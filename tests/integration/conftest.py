import boto3
import pytest
from moto import mock_aws

from omp.adapters import aws
from tests import support


@pytest.fixture
def dynamodb():
    """The catalog's tables in moto (the conformance tier runs the same tests on DynamoDB Local)."""
    with mock_aws():
        aws.reset_clients()
        support.create_tables(boto3.client("dynamodb"))
        yield boto3.client("dynamodb")
    aws.reset_clients()


@pytest.fixture
def platform(dynamodb):
    """Tables, the platform bus and a queue capturing every event put on it."""
    events, sqs = boto3.client("events"), boto3.client("sqs")
    events.create_event_bus(Name=support.PREFIX + "platform")
    support.create_queues_and_buckets(sqs, boto3.client("s3"))
    url = sqs.create_queue(QueueName="captured-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(
        Name="all",
        EventBusName=support.PREFIX + "platform",
        EventPattern='{"source": [{"prefix": "omp."}]}',
    )
    events.put_targets(
        Rule="all", EventBusName=support.PREFIX + "platform", Targets=[{"Id": "q", "Arn": arn}]
    )
    return {"queue_url": url}


@pytest.fixture
def graph(platform, tmp_path):
    """A CMDB graph (gremlite in a temporary file) that the handlers' container hands out."""
    from omp.adapters.gremlin_graph import GremlinGraph
    from omp.runtime import container

    g = GremlinGraph(path=str(tmp_path / "graph.sqlite"))
    with container.override(graph=g):
        yield g
    g.close()
