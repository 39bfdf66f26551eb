"""The REST API: error envelopes, authorizer, logging, tracing, throttling, WAF."""

from __future__ import annotations

import json

from tests.infra.synth import Synth

ENVELOPES = {
    "UNAUTHORIZED": ("401", "UNAUTHORIZED"),
    "ACCESS_DENIED": ("403", "FORBIDDEN"),
    "REQUEST_TOO_LARGE": ("413", "PAYLOAD_TOO_LARGE"),
    "THROTTLED": ("429", "RATE_LIMITED"),
    "MISSING_AUTHENTICATION_TOKEN": ("404", "ROUTE_NOT_FOUND"),
    "DEFAULT_4XX": (None, "BAD_REQUEST"),
    "DEFAULT_5XX": (None, "INTERNAL_ERROR"),
}


def api(s: Synth) -> dict:
    return s.templates["Api"]["Resources"]


def test_gateway_responses_use_the_error_envelope(dev: Synth) -> None:
    responses = {
        r["Properties"]["ResponseType"]: r["Properties"]
        for r in api(dev).values()
        if r["Type"] == "AWS::ApiGateway::GatewayResponse"
    }
    assert set(responses) == set(ENVELOPES)
    for response_type, (status, code) in ENVELOPES.items():
        props = responses[response_type]
        assert props.get("StatusCode") == status
        template = props["ResponseTemplates"]["application/json"]
        # Render the mapping template as API Gateway would, with sample context values.
        rendered = template.replace(
            "$context.error.messageString", json.dumps("Unauthorized")
        ).replace("$context.requestId", "req-1")
        assert json.loads(rendered) == {
            "error": {"code": code, "message": "Unauthorized", "request_id": "req-1"}
        }


def test_stage_has_logs_tracing_throttling(dev: Synth) -> None:
    (stage,) = [r["Properties"] for r in api(dev).values() if r["Type"] == "AWS::ApiGateway::Stage"]
    assert stage["TracingEnabled"] is True
    assert stage["AccessLogSetting"]["DestinationArn"]
    settings = stage["MethodSettings"][0]
    assert settings["ThrottlingRateLimit"] > 0 and settings["ThrottlingBurstLimit"] > 0
    assert settings["LoggingLevel"] == "ERROR"
    validators = [r for r in api(dev).values() if r["Type"] == "AWS::ApiGateway::RequestValidator"]
    assert len(validators) == 1
    methods = [r["Properties"] for r in api(dev).values() if r["Type"] == "AWS::ApiGateway::Method"]
    assert methods and all("RequestValidatorId" in m for m in methods)


def test_waf_protects_the_stage(dev: Synth) -> None:
    (acl,) = [r["Properties"] for r in api(dev).values() if r["Type"] == "AWS::WAFv2::WebACL"]
    rules = {r["Name"]: r for r in acl["Rules"]}
    managed = rules["aws-common"]["Statement"]["ManagedRuleGroupStatement"]
    assert managed["Name"] == "AWSManagedRulesCommonRuleSet"
    assert rules["rate-limit"]["Statement"]["RateBasedStatement"]["Limit"] > 0
    (assoc,) = [
        r["Properties"] for r in api(dev).values() if r["Type"] == "AWS::WAFv2::WebACLAssociation"
    ]
    assert "/stages/" in json.dumps(assoc["ResourceArn"])


def test_lambda_permissions_are_scoped_to_the_api(dev: Synth) -> None:
    perms = [r["Properties"] for r in api(dev).values() if r["Type"] == "AWS::Lambda::Permission"]
    assert perms
    for p in perms:
        assert p["Principal"] == "apigateway.amazonaws.com"
        assert "SourceArn" in p
