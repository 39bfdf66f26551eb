"""API stack: one REST API, a method per catalog HttpRoute, one Lambda REQUEST authorizer, WAF."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from infra import wiring
from infra.stacks.config import StageConfig
from infra.stacks.foundation import cid
from infra.stacks.nag import ack
from infra.stacks.naming import Names
from infra.stacks.telemetry import log_group
from infra.wiring import Catalog

PUBLIC = "public"
AUTHORIZER_CACHE_S = 300
WAF_RATE_LIMIT_PER_5_MIN = 2000

# (response type, HTTP status or None to keep API Gateway's, envelope code)
GATEWAY_RESPONSES = (
    (apigw.ResponseType.UNAUTHORIZED, "401", "UNAUTHORIZED"),
    (apigw.ResponseType.ACCESS_DENIED, "403", "FORBIDDEN"),
    (apigw.ResponseType.REQUEST_TOO_LARGE, "413", "PAYLOAD_TOO_LARGE"),
    (apigw.ResponseType.THROTTLED, "429", "RATE_LIMITED"),
    # REST APIs answer an unknown path or verb with 403 "Missing Authentication Token".
    (apigw.ResponseType.MISSING_AUTHENTICATION_TOKEN, "404", "ROUTE_NOT_FOUND"),
    (apigw.ResponseType.DEFAULT_4_XX, None, "BAD_REQUEST"),
    (apigw.ResponseType.DEFAULT_5_XX, None, "INTERNAL_ERROR"),
)


def envelope_template(code: str) -> str:
    """The error envelope as a mapping template ($context.error.messageString is JSON-quoted)."""
    return (
        '{"error": {"code": "' + code + '", "message": $context.error.messageString, '
        '"request_id": "$context.requestId"}}'
    )


class ApiStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        cid_: str,
        *,
        config: StageConfig,
        catalog: Catalog,
        key: kms.IKey,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, cid_, **kwargs)  # type: ignore[arg-type]
        names = Names(config.stage)
        self.stage_name = config.stage

        access_logs = log_group(
            self, "AccessLogs", name=f"/omp/{config.stage}/api-access", config=config, key=key
        )
        self.api = apigw.RestApi(
            self,
            "Api",
            rest_api_name=names.api,
            description=f"om-platform {config.stage} HTTPS API",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            # OTLP/HTTP protobuf bodies reach POST /v1/otlp/metrics base64-encoded, unaltered
            binary_media_types=["application/x-protobuf"],
            cloud_watch_role=True,
            cloud_watch_role_removal_policy=config.removal,
            deploy_options=apigw.StageOptions(
                stage_name=config.stage,
                tracing_enabled=True,
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,
                metrics_enabled=True,
                throttling_rate_limit=100,
                throttling_burst_limit=200,
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=False,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=True,
                ),
            ),
        )
        ack(
            self.api,
            "IAM4",
            "API Gateway's account-level CloudWatch role (execution logs) uses the AWS-maintained "
            "AmazonAPIGatewayPushToCloudWatchLogs policy, the documented minimum.",
            [
                "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
            ],
        )
        self.validator = self.api.add_request_validator(
            "Validator",
            request_validator_name="params-and-body",
            validate_request_parameters=True,
            validate_request_body=True,
        )
        for response_type, status, code in GATEWAY_RESPONSES:
            self.api.add_gateway_response(
                f"Gw{code.title().replace('_', '')}",
                type=response_type,
                status_code=status,
                templates={"application/json": envelope_template(code)},
                response_headers={"Content-Type": "'application/json'"},
            )

        authorizer_fn = catalog.authorizer()
        self.authorizer: apigw.RequestAuthorizer | None = None
        if authorizer_fn is not None:
            self.authorizer = apigw.RequestAuthorizer(
                self,
                "Authorizer",
                authorizer_name=f"{names.prefix}-authorize",
                handler=self._function(names, authorizer_fn),
                identity_sources=[apigw.IdentitySource.header("Authorization")],
                results_cache_ttl=cdk.Duration.seconds(AUTHORIZER_CACHE_S),
            )

        for fn in catalog.functions:
            route = fn.trigger
            if not isinstance(route, wiring.HttpRoute):
                continue
            resource = self.api.root.resource_for_path(route.path)
            integration = apigw.LambdaIntegration(
                self._function(names, fn), proxy=True, allow_test_invoke=False
            )
            public = route.permission == PUBLIC
            method = resource.add_method(
                route.method,
                integration,
                authorizer=None if public else self.authorizer,
                authorization_type=(
                    apigw.AuthorizationType.NONE if public else apigw.AuthorizationType.CUSTOM
                ),
                request_validator=self.validator,
                operation_name=fn.name,
            )
            if public:
                ack(
                    method,
                    "APIG4",
                    f"{fn.name}: the catalog marks {route.path} public (no caller identity).",
                )
                ack(
                    method,
                    "COG4",
                    f"{fn.name}: the catalog marks {route.path} public (no caller identity).",
                )
            else:
                ack(
                    method,
                    "COG4",
                    "The single Lambda REQUEST authorizer validates Cognito JWTs for people and "
                    "hashed integration keys for webhooks (Alertmanager, Grafana), which a Cognito "
                    "user pool authorizer cannot.",
                )

        # ---- WAF --------------------------------------------------------------------------------
        acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            name=f"{names.prefix}-api",
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=self._visibility("api"),
            rules=[
                wafv2.CfnWebACL.RuleProperty(
                    name="aws-common",
                    priority=0,
                    override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                    statement=wafv2.CfnWebACL.StatementProperty(
                        managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                            vendor_name="AWS",
                            name="AWSManagedRulesCommonRuleSet",
                            # The common set blocks bodies over 8 KB; routes accept up to
                            # max_body_bytes (1 MiB by default), enforced by the handlers.
                            rule_action_overrides=[
                                wafv2.CfnWebACL.RuleActionOverrideProperty(
                                    name="SizeRestrictions_BODY",
                                    action_to_use=wafv2.CfnWebACL.RuleActionProperty(count={}),
                                )
                            ],
                        )
                    ),
                    visibility_config=self._visibility("aws-common"),
                ),
                wafv2.CfnWebACL.RuleProperty(
                    name="rate-limit",
                    priority=1,
                    action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                    statement=wafv2.CfnWebACL.StatementProperty(
                        rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                            limit=WAF_RATE_LIMIT_PER_5_MIN, aggregate_key_type="IP"
                        )
                    ),
                    visibility_config=self._visibility("rate-limit"),
                ),
            ],
        )
        wafv2.CfnWebACLAssociation(
            self,
            "WebAclAssociation",
            resource_arn=self.api.deployment_stage.stage_arn,
            web_acl_arn=acl.attr_arn,
        )
        cdk.CfnOutput(self, "ApiUrl", value=self.api.url)

    def _function(self, names: Names, fn: wiring.Function) -> lambda_.IFunction:
        return lambda_.Function.from_function_attributes(
            self,
            f"Fn{cid(fn.name)}",
            function_arn=names.function_arn(self, fn.name),
            same_environment=True,
        )

    @staticmethod
    def _visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
        return wafv2.CfnWebACL.VisibilityConfigProperty(
            cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
        )
