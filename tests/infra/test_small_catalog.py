"""Code paths the production catalog does not use yet: graph/search, state machines, schedules,
default-bus rules and topic subscriptions (a small test catalog)."""

from __future__ import annotations

import json

import pytest

from tests.infra.catalogs import small_catalog
from tests.infra.checks import lambda_by_name, role_statements
from tests.infra.synth import ROOT, Synth, synthesize


def statements_of(s: Synth, name: str) -> tuple[dict, list[dict], list]:
    stack, _, res = lambda_by_name(s, f"omp-dev-{name}")[0]
    statements, managed = role_statements(s, stack, res)
    return res, statements, managed


def test_graph_and_search_function_runs_in_the_vpc(small: Synth) -> None:
    res, statements, managed = statements_of(small, "diagnose")
    props = res["Properties"]
    assert props["VpcConfig"]["SecurityGroupIds"] and props["VpcConfig"]["SubnetIds"]
    env = props["Environment"]["Variables"]
    assert env["OMP_GRAPH_ENDPOINT"] == {"Fn::ImportValue": "omp-dev-graph-endpoint"}
    assert env["OMP_SEARCH_ENDPOINT"] == {"Fn::ImportValue": "omp-dev-search-endpoint"}
    outputs = small.templates["Network"]["Outputs"]
    exported = {
        o["Export"]["Name"]: json.dumps(o["Value"]) for o in outputs.values() if "Export" in o
    }
    assert (
        "gremlin" in exported["omp-dev-graph-endpoint"]
        and "8182" in exported["omp-dev-graph-endpoint"]
    )
    assert "https://" in exported["omp-dev-search-endpoint"]
    graph = [s for s in statements if "neptune-db:connect" in s["Action"]]
    assert len(graph) == 1
    text = json.dumps(graph[0]["Resource"])
    assert ":neptune-db:" in text and "omp-dev-neptune-resource-id" in text
    search = [s for s in statements if "es:ESHttpGet" in s["Action"]]
    assert len(search) == 1 and "domain/omp-dev-search" in json.dumps(search[0]["Resource"])
    assert all(not a.endswith("*") for s in graph + search for a in s["Action"])
    assert len(managed) == 1 and "AWSLambdaVPCAccessExecutionRole" in json.dumps(managed[0])


def test_non_vpc_functions_get_no_graph_or_search(small: Synth) -> None:
    res, statements, _ = statements_of(small, "get-thing")
    assert "VpcConfig" not in res["Properties"]
    text = json.dumps(statements)
    assert "neptune-db" not in text and "es:ESHttp" not in text


def test_data_stores_admit_only_the_client_security_group(small: Synth) -> None:
    ingress = [r["Properties"] for _, _, r in small.resources("AWS::EC2::SecurityGroupIngress")]
    ports = {
        (i["FromPort"], i["ToPort"])
        for i in ingress
        if "DataClientSg" in json.dumps(i.get("SourceSecurityGroupId"))
    }
    assert (8182, 8182) in ports and (443, 443) in ports
    assert all("CidrIp" not in i or i["CidrIp"] != "0.0.0.0/0" for i in ingress)


def test_vpc_endpoints_and_flow_logs(small: Synth) -> None:
    endpoints = [r["Properties"] for _, _, r in small.resources("AWS::EC2::VPCEndpoint")]
    services = json.dumps([e["ServiceName"] for e in endpoints])
    for svc in ("dynamodb", "s3", "events", "sqs", "sns", "kms", "secretsmanager", "sts", "logs"):
        assert f".{svc}" in services or f"{svc}" in services, svc
    assert len(endpoints) == 9
    assert small.resources("AWS::EC2::FlowLog")


def test_state_machine_resolves_function_tasks(small: Synth) -> None:
    ((_, _, machine),) = small.resources("AWS::StepFunctions::StateMachine")
    props = machine["Properties"]
    assert props["StateMachineName"] == "omp-dev-runbook"
    assert "${fn_diagnose}" in json.dumps(props["DefinitionString"])
    assert "omp-dev-diagnose" in json.dumps(props["DefinitionSubstitutions"]["fn_diagnose"])
    assert props["TracingConfiguration"] == {"Enabled": True}
    assert props["LoggingConfiguration"]["Level"] == "ALL"
    (role_policy,) = [
        r["Properties"]["PolicyDocument"]["Statement"]
        for _, lid, r in small.resources("AWS::IAM::Policy")
        if lid.startswith("RunbookRole")
    ]
    invoke = [s for s in role_policy if s["Action"] == "lambda:InvokeFunction"]
    assert len(invoke) == 1 and "omp-dev-diagnose" in json.dumps(invoke[0]["Resource"])
    assert "omp-dev-get-thing" not in json.dumps(role_policy)


def test_start_execution_and_bucket_grants(small: Synth) -> None:
    _, statements, _ = statements_of(small, "put-report")
    by_action = {
        a: s
        for s in statements
        for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    }
    assert "omp-dev-runbook" in json.dumps(by_action["states:StartExecution"]["Resource"])
    assert "omp-dev-work" in json.dumps(by_action["sqs:SendMessage"]["Resource"])
    assert "omp-dev-notices" in json.dumps(by_action["sns:Publish"]["Resource"])
    assert "omp-dev-reports-" in json.dumps(by_action["s3:PutObject"]["Resource"])
    assert "sqs:ReceiveMessage" not in by_action


def test_org_bus_policy_and_alarm_email_only_when_configured(
    small: Synth, tmp_path_factory: pytest.TempPathFactory
) -> None:
    assert "AllowPutEventsFromOrganization" not in json.dumps(small.templates["Foundation"])
    assert not [
        r
        for _, _, r in small.resources("AWS::SNS::Subscription")
        if r["Properties"]["Protocol"] == "email"
    ]
    stages = json.loads((ROOT / "cdk.json").read_text())["context"]["stages"]
    stages["dev"] = {**stages["dev"], "alarm_email": "oncall@example.com"}
    configured = synthesize(
        tmp_path_factory.mktemp("org"),
        "dev",
        catalog=small_catalog(),
        context={"org_id": "o-abc123", "stages": stages},
    )
    text = json.dumps(configured.templates["Foundation"])
    assert "aws:PrincipalOrgID" in text and "o-abc123" in text
    (email,) = [
        r["Properties"]
        for _, _, r in configured.resources("AWS::SNS::Subscription")
        if r["Properties"]["Protocol"] == "email"
    ]
    assert email["Endpoint"] == "oncall@example.com"
    assert "omp-dev-platform-alarms" in json.dumps(configured.templates["Foundation"])
    assert configured.violations == []
