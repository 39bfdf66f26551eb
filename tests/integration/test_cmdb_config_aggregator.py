"""The discovery reconcile reading a Config aggregator (the `config_aggregator` CMDB setting).

moto serves PutConfigurationAggregator, ListAggregateDiscoveredResources and
BatchGetAggregateResourceConfig only partly: one account (it ignores SourceAccountId), an
unfiltered list covers us-east-1 alone, and a deleted resource is answered as unprocessed (AWS
documents that deleted resources are not returned). So moto drives the handler end to end for
what it serves, and a Config of several accounts and regions in memory (`_Org`, the port's
aggregate methods) drives the cross-account logic: CIs per account, stale per account, scope;
an RDS identifier in two accounts (item change events).
The adapter's requests are checked against botocore's model in
tests/unit/test_cmdb_config_aggregator.py."""

import json
from datetime import UTC, datetime

import boto3
import pytest

from infra import wiring
from omp.adapters.aws_config import DynamoCmdbSettings
from omp.adapters.memory import FixedClock
from omp.domain.errors import DomainError
from omp.runtime import container, env
from omp.services import cmdb_discovery
from tests.support import PREFIX, call_api, invoke, resolve

HOME = "123456789012"  # moto's account, and the test Lambda context's
A, B, C = "111111111111", "222222222222", "333333333333"


def set_aggregator(name):
    status, body, _ = call_api("get-cmdb-settings")
    version = body["cmdb_settings"]["version"]
    status, body, _ = call_api(
        "put-cmdb-settings", body={"version": version, "config_aggregator": name}
    )
    assert status == 200, body
    return body["cmdb_settings"]


def tables(account=None):
    status, body, _ = call_api("list-cis", query={"type": "dynamodb_table"})
    assert status == 200, body
    return {
        (c["attributes"]["account_id"], c["attributes"]["region"], c["name"]): c
        for c in body["cis"]
        if account is None or c["attributes"]["account_id"] == account
    }


class _Org:
    """AWS Config of several accounts and regions: DynamoDB tables by (account, region, name).
    `unprocessed` answers those keys as unprocessed (throttled). Checks the 100-key limit."""

    def __init__(self, *where):
        self.tables = {w: {"version": "1"} for w in where}
        self.unprocessed: set[tuple[str, str, str]] = set()
        self.calls: list[str] = []

    def _item(self, account, region, name):
        return {
            "accountId": account,
            "awsRegion": region,
            "arn": f"arn:aws:dynamodb:{region}:{account}:table/{name}",
            "resourceType": "AWS::DynamoDB::Table",
            "resourceId": name,
            "resourceName": name,
            "configurationItemStatus": "OK",
            "configurationItemCaptureTime": "2026-03-01T00:00:00.000Z",
            "configurationStateId": "1",
            "configuration": json.dumps({"tableName": name}),
        }

    def list_aggregate(self, aggregator, resource_type, token):
        self.calls.append(f"list {aggregator}")
        if resource_type != "AWS::DynamoDB::Table":
            return [], None
        keys = [
            {"resourceType": resource_type, "resourceId": n, "accountId": a, "region": r}
            for a, r, n in sorted(self.tables)
        ]
        return keys, None

    def batch_get_aggregate(self, aggregator, keys):
        assert len(keys) <= 100
        if not keys:
            return [], []
        self.calls.append(f"batch {aggregator}")
        items, unprocessed = [], []
        for k in keys:
            where = (k["accountId"], k["region"], k["resourceId"])
            if where in self.unprocessed:
                unprocessed.append(k)
            elif where in self.tables and k["resourceType"] == "AWS::DynamoDB::Table":
                items.append(self._item(*where))
        return items, unprocessed

    def list_discovered(self, resource_type, token):  # this account's own Config: HOME only
        self.calls.append("list local")
        keys, _ = self.list_aggregate("", resource_type, None)
        return [
            {"resourceType": k["resourceType"], "resourceId": k["resourceId"]}
            for k in keys
            if k["accountId"] == HOME and k["region"] == "us-east-1"
        ], None

    def batch_get(self, keys):
        self.calls.append("batch local")
        return self.batch_get_aggregate(
            "", [{**k, "accountId": HOME, "region": "us-east-1"} for k in keys]
        )


# ---- through moto -------------------------------------------------------------------------------


def test_moto_the_aggregator_is_read_when_the_setting_names_it(platform):
    boto3.client("config").put_configuration_aggregator(
        ConfigurationAggregatorName="org",
        AccountAggregationSources=[{"AccountIds": [HOME], "AllAwsRegions": True}],
    )
    sns = boto3.client("sns")
    arn = sns.create_topic(Name="orders")["TopicArn"]
    sns.create_topic(Name="billing")  # keeps the account-region listed once orders is gone
    set_aggregator("org")
    got = invoke("reconcile-config", {})
    assert got["done"] is True and got["created"] == 2, got
    assert got["aggregator"] == "org" and got["accounts"] == 1
    _, body, _ = call_api("list-cis", query={"type": "sns_topic", "attribute": "arn", "value": arn})
    ci = body["cis"][0]
    assert ci["attributes"]["arn"] == arn
    assert (ci["attributes"]["account_id"], ci["attributes"]["region"]) == (HOME, "us-east-1")
    # moto answers a deleted resource as unprocessed: never taken as gone
    sns.delete_topic(TopicArn=arn)
    got = invoke("reconcile-config", {})
    assert got["unprocessed"] == 1 and "stale" not in got, got


def test_moto_an_aggregator_that_does_not_exist_fails_the_run_with_its_code(platform):
    set_aggregator("missing")
    with pytest.raises(DomainError) as failed:
        invoke("reconcile-config", {})
    assert failed.value.code == "CONFIG_AGGREGATOR_NOT_FOUND"


# ---- several accounts and regions (in memory) --------------------------------------------------


def test_the_same_table_in_two_accounts_is_two_cis_and_goes_stale_on_its_own(platform):
    org = _Org(
        (A, "us-east-1", "orders"),
        (B, "us-east-1", "orders"),
        (B, "us-east-1", "billing"),
        (B, "eu-west-1", "orders"),
    )
    set_aggregator("org")
    clock = FixedClock(datetime(2026, 3, 1, tzinfo=UTC))
    with container.override(config_discovery=org, clock=clock):
        got = invoke("reconcile-config", {})
        assert got["created"] == 4 and got["accounts"] == 2, got
        assert set(tables()) == set(org.tables)
        assert "list local" not in org.calls and "batch org" in org.calls
        del org.tables[(B, "us-east-1", "orders")]  # deleted in one account and region only
        clock.advance(3600)
        got = invoke("reconcile-config", {})
        assert got["stale"] == 1, got
        cis = tables()
        assert cis[(B, "us-east-1", "orders")]["attributes"]["stale_since"]
        assert "stale_since" not in cis[(A, "us-east-1", "orders")]["attributes"]
        assert "stale_since" not in cis[(B, "eu-west-1", "orders")]["attributes"]
        clock.advance(24 * 3600)
        assert invoke("reconcile-config", {})["retired"] == 1
        cis = tables()
        assert cis[(B, "us-east-1", "orders")]["status"] == "retired"
        assert cis[(A, "us-east-1", "orders")]["status"] == "active"
        assert cis[(A, "us-east-1", "orders")]["version"] == 1


def test_an_account_the_run_did_not_list_is_out_of_scope_not_stale(platform):
    org = _Org((A, "us-east-1", "orders"), (C, "us-east-1", "billing"))
    set_aggregator("org")
    with container.override(config_discovery=org):
        invoke("reconcile-config", {})
        del org.tables[(C, "us-east-1", "billing")]  # C left the aggregator: nothing of C listed
        got = invoke("reconcile-config", {})
    assert got["out_of_scope"] == 1 and "stale" not in got, got
    assert "stale_since" not in tables(C)[(C, "us-east-1", "billing")]["attributes"]


def test_unprocessed_aggregate_keys_are_never_taken_as_gone(platform):
    org = _Org((A, "us-east-1", "orders"), (B, "us-east-1", "orders"), (B, "us-east-1", "x"))
    set_aggregator("org")
    with container.override(config_discovery=org):
        invoke("reconcile-config", {})
        org.unprocessed = {(A, "us-east-1", "orders")}
        del org.tables[(B, "us-east-1", "orders")]
        got = invoke("reconcile-config", {})
    # A's key listed but unprocessed twice (discover, sweep); B's table really gone
    assert got["unprocessed"] == 2 and got["stale"] == 1, got
    assert "stale_since" not in tables(A)[(A, "us-east-1", "orders")]["attributes"]


def test_without_the_setting_only_this_accounts_cis_are_swept(platform):
    org = _Org((HOME, "us-east-1", "orders"), (A, "us-east-1", "orders"))
    set_aggregator("org")
    with container.override(config_discovery=org):
        invoke("reconcile-config", {})
        assert set(tables()) == set(org.tables)
        set_aggregator(None)
        del org.tables[(HOME, "us-east-1", "orders")]
        org.calls.clear()
        got = invoke("reconcile-config", {})
    # the account-local calls, as before the setting existed
    assert "list local" in org.calls and "batch local" in org.calls
    assert not [c for c in org.calls if c.endswith("org")]
    # this account's deleted table goes stale; A's CI, which this account's Config cannot see
    # (its own Config has no such table), is left alone
    assert got["stale"] == 1 and got["out_of_scope"] == 1, got
    assert tables(HOME)[(HOME, "us-east-1", "orders")]["attributes"]["stale_since"]
    assert "stale_since" not in tables(A)[(A, "us-east-1", "orders")]["attributes"]


def test_the_scope_survives_the_deadline_and_a_changed_setting_starts_again(platform):
    from omp.api.cmdb import types

    org = _Org((A, "us-east-1", "orders"), (B, "eu-west-1", "billing"), (B, "eu-west-1", "x"))
    store = DynamoCmdbSettings(PREFIX + "cmdb")
    set_aggregator("org")

    def run(time_left):
        with container.override(config_discovery=org):
            return cmdb_discovery.reconcile(
                config=org,
                store=store,
                types=types(),
                repo=container.cis(),
                events=container.publisher(),
                clock=FixedClock(),
                time_left=time_left,
                home=(HOME, "us-east-1"),
            )

    with env.overlay(wiring.environment(wiring.function("reconcile-config"), resolve, "test")):
        kinds = list(cmdb_discovery.discovery.RESOURCE_TYPES)
        ticks = iter([True] * (kinds.index("AWS::DynamoDB::Table") + 1) + [False])
        first = run(lambda: next(ticks))
        assert first["done"] is False and first["cursor"]["aggregator"] == "org"
        assert sorted(first["cursor"]["scope"]["accounts"]) == [A, B]
        del org.tables[(B, "eu-west-1", "billing")]
        rest = run(lambda: True)  # B was listed in the first tick: its CI is judged
        assert rest["done"] is True and rest["stale"] == 1 and rest["accounts"] == 2, rest
        # a run cut short, then the setting changes: the cursor of the other scope is dropped
        ticks = iter([True, False])
        assert run(lambda: next(ticks))["cursor"]["aggregator"] == "org"
        set_aggregator(None)
        org.calls.clear()
        last = run(lambda: True)
        assert last["done"] is True and "list org" not in org.calls
        assert last["out_of_scope"] == 3  # A's and B's CIs, not this account's


# ---- the setting ------------------------------------------------------------------------------


def test_the_setting_is_validated(platform):
    settings = set_aggregator("org-wide_1")
    assert settings["config_aggregator"] == "org-wide_1"
    status, body, _ = call_api("get-cmdb-settings")
    assert body["cmdb_settings"]["config_aggregator"] == "org-wide_1"
    for bad in ("", "has space", "a/b", "x" * 257, 12, ["org"]):
        status, body, _ = call_api(
            "put-cmdb-settings", body={"version": settings["version"], "config_aggregator": bad}
        )
        assert status == 422 and body["error"]["code"] == "VALIDATION_FAILED", (bad, body)
        assert any("config_aggregator" in d["loc"] for d in body["error"]["details"]), body
    assert set_aggregator(None)["config_aggregator"] is None


def test_the_same_rds_identifier_in_two_accounts_is_two_cis(platform):
    """An RDS identifier is the user's name, unique per account and region only."""

    def rds(account):
        return {
            "source": "aws.config",
            "detail-type": "Config Configuration Item Change",
            "detail": {
                "messageType": "ConfigurationItemChangeNotification",
                "configurationItem": {
                    "resourceType": "AWS::RDS::DBInstance",
                    "resourceId": f"db-{account}",  # Config's id: the DbiResourceId
                    "ARN": f"arn:aws:rds:us-east-1:{account}:db:prod-db",
                    "awsAccountId": account,
                    "awsRegion": "us-east-1",
                    "configurationItemCaptureTime": "2026-03-01T00:00:00.000Z",
                    "configurationStateId": 1,
                    "configurationItemStatus": "ResourceDiscovered",
                    "configuration": {"dBInstanceIdentifier": "prod-db", "engine": "postgres"},
                    "relationships": [],
                    "tags": {},
                },
            },
        }

    for account in (A, B):
        got = invoke("discover-config-item", rds(account))
        assert got["outcome"] == "created", got
    _, body, _ = call_api(
        "list-cis",
        query={"type": "rds_instance", "attribute": "db_instance_identifier", "value": "prod-db"},
    )
    assert sorted(c["attributes"]["account_id"] for c in body["cis"]) == [A, B]
