"""Network stack: VPC (flow logs, endpoints), Neptune cluster and OpenSearch domain.

Functions with `graph`/`search` run in the private subnets with `client_security_group`; the
Neptune and OpenSearch security groups admit that group only (8182 / 443).
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_neptune as neptune
from aws_cdk import aws_opensearchservice as opensearch
from constructs import Construct

from infra.stacks.config import StageConfig
from infra.stacks.nag import ack
from infra.stacks.naming import Names
from infra.stacks.telemetry import log_group

NEPTUNE_PORT = 8182
NEPTUNE_ENGINE_VERSION = "1.4.5.1"  # TinkerPop 3.7 line, matching gremlinpython 3.7
OPENSEARCH_VERSION = opensearch.EngineVersion.OPENSEARCH_2_17

INTERFACE_ENDPOINTS = {
    "EventBridge": ec2.InterfaceVpcEndpointAwsService.EVENTBRIDGE,
    "Sqs": ec2.InterfaceVpcEndpointAwsService.SQS,
    "Sns": ec2.InterfaceVpcEndpointAwsService.SNS,
    "Kms": ec2.InterfaceVpcEndpointAwsService.KMS,
    "SecretsManager": ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
    "Sts": ec2.InterfaceVpcEndpointAwsService.STS,
    "Logs": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
}


class NetworkStack(cdk.Stack):
    def __init__(
        self, scope: Construct, cid: str, *, config: StageConfig, key: kms.IKey, **kwargs: object
    ) -> None:
        super().__init__(scope, cid, **kwargs)  # type: ignore[arg-type]
        names = Names(config.stage)
        removal = config.removal

        # ---- VPC ------------------------------------------------------------------------------
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            vpc_name=f"{names.prefix}-vpc",
            max_azs=2,
            nat_gateways=config.nat_gateways,
            restrict_default_security_group=False,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24
                ),
                ec2.SubnetConfiguration(
                    name="app", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=20
                ),
                ec2.SubnetConfiguration(
                    name="data", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24
                ),
            ],
        )
        flow_log_group = log_group(
            self,
            "FlowLogGroup",
            name=f"/omp/{config.stage}/vpc-flow-logs",
            config=config,
            key=key,
        )
        self.vpc.add_flow_log(
            "FlowLog",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_log_group),
            traffic_type=ec2.FlowLogTrafficType.ALL,
        )
        self.vpc.add_gateway_endpoint(
            "DynamoDbEndpoint", service=ec2.GatewayVpcEndpointAwsService.DYNAMODB
        )
        self.vpc.add_gateway_endpoint("S3Endpoint", service=ec2.GatewayVpcEndpointAwsService.S3)
        self.client_security_group = ec2.SecurityGroup(
            self,
            "DataClientSg",
            vpc=self.vpc,
            description="Lambda functions in the VPC (reach Neptune, OpenSearch, VPC endpoints)",
            allow_all_outbound=True,
        )
        endpoints_sg = ec2.SecurityGroup(
            self,
            "EndpointsSg",
            vpc=self.vpc,
            description="Interface VPC endpoints: HTTPS from in-VPC platform functions only",
            allow_all_outbound=False,
        )
        endpoints_sg.add_ingress_rule(
            self.client_security_group, ec2.Port.tcp(443), "HTTPS from platform functions"
        )
        app_subnets = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
        for name, service in INTERFACE_ENDPOINTS.items():
            self.vpc.add_interface_endpoint(
                f"{name}Endpoint",
                service=service,
                subnets=app_subnets,
                private_dns_enabled=True,
                security_groups=[endpoints_sg],
                open=False,
            )

        # ---- Neptune --------------------------------------------------------------------------
        neptune_sg = ec2.SecurityGroup(
            self, "NeptuneSg", vpc=self.vpc, description="Neptune cluster", allow_all_outbound=False
        )
        neptune_sg.add_ingress_rule(
            self.client_security_group,
            ec2.Port.tcp(NEPTUNE_PORT),
            "Gremlin from platform functions",
        )
        data_subnets = self.vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        subnet_group = neptune.CfnDBSubnetGroup(
            self,
            "NeptuneSubnets",
            db_subnet_group_description="om-platform Neptune (isolated subnets)",
            subnet_ids=data_subnets.subnet_ids,
        )
        self.neptune_cluster = neptune.CfnDBCluster(
            self,
            "NeptuneCluster",
            engine_version=NEPTUNE_ENGINE_VERSION,
            db_subnet_group_name=subnet_group.ref,
            vpc_security_group_ids=[neptune_sg.security_group_id],
            storage_encrypted=True,
            kms_key_id=key.key_arn,
            iam_auth_enabled=True,
            backup_retention_period=config.backup_retention_days,
            preferred_backup_window="02:00-03:00",
            preferred_maintenance_window="sun:04:00-sun:05:00",
            deletion_protection=config.deletion_protection,
            enable_cloudwatch_logs_exports=["audit"],
            copy_tags_to_snapshot=True,
        )
        self.neptune_cluster.apply_removal_policy(
            cdk.RemovalPolicy.SNAPSHOT if config.retain else cdk.RemovalPolicy.DESTROY
        )
        for i in range(config.neptune_instances):
            neptune.CfnDBInstance(
                self,
                f"NeptuneInstance{i + 1}",
                db_instance_class=config.neptune_instance_class,
                db_cluster_identifier=self.neptune_cluster.ref,
                auto_minor_version_upgrade=True,
            )
        self.graph_endpoint = f"wss://{self.neptune_cluster.attr_endpoint}:{NEPTUNE_PORT}/gremlin"

        # ---- OpenSearch -----------------------------------------------------------------------
        search_sg = ec2.SecurityGroup(
            self,
            "SearchSg",
            vpc=self.vpc,
            description="OpenSearch domain",
            allow_all_outbound=False,
        )
        search_sg.add_ingress_rule(
            self.client_security_group, ec2.Port.tcp(443), "HTTPS from platform functions"
        )
        nodes = config.opensearch_data_nodes
        az_count = min(2, nodes)
        if nodes > 1 and nodes % az_count:
            raise ValueError(
                f"opensearch_data_nodes={nodes}: with {az_count} AZs the data node count must be "
                f"a multiple of {az_count}"
            )
        self.search_admin_role = iam.Role(
            self,
            "SearchAdminRole",
            assumed_by=iam.AccountRootPrincipal(),
            description="OpenSearch fine-grained access control master user (map function roles)",
        )
        search_logs = {
            kind: log_group(
                self,
                f"Search{kind}Logs",
                name=f"/omp/{config.stage}/opensearch/{kind.lower()}",
                config=config,
                key=key,
            )
            for kind in ("App", "Audit", "SearchSlow", "IndexSlow")
        }
        self.domain = opensearch.Domain(
            self,
            "Search",
            domain_name=f"{names.prefix}-search",
            version=OPENSEARCH_VERSION,
            vpc=self.vpc,
            vpc_subnets=[ec2.SubnetSelection(subnets=data_subnets.subnets[:az_count])],
            security_groups=[search_sg],
            capacity=opensearch.CapacityConfig(
                data_nodes=nodes,
                data_node_instance_type=config.opensearch_instance_type,
                multi_az_with_standby_enabled=False,
            ),
            ebs=opensearch.EbsOptions(
                volume_size=config.opensearch_volume_gb, volume_type=ec2.EbsDeviceVolumeType.GP3
            ),
            zone_awareness=(
                opensearch.ZoneAwarenessConfig(enabled=True, availability_zone_count=az_count)
                if az_count > 1
                else opensearch.ZoneAwarenessConfig(enabled=False)
            ),
            encryption_at_rest=opensearch.EncryptionAtRestOptions(enabled=True, kms_key=key),
            node_to_node_encryption=True,
            enforce_https=True,
            tls_security_policy=opensearch.TLSSecurityPolicy.TLS_1_2,
            fine_grained_access_control=opensearch.AdvancedSecurityOptions(
                master_user_arn=self.search_admin_role.role_arn
            ),
            logging=opensearch.LoggingOptions(
                app_log_enabled=True,
                app_log_group=search_logs["App"],
                audit_log_enabled=True,
                audit_log_group=search_logs["Audit"],
                slow_search_log_enabled=True,
                slow_search_log_group=search_logs["SearchSlow"],
                slow_index_log_enabled=True,
                slow_index_log_group=search_logs["IndexSlow"],
            ),
            suppress_logs_resource_policy=True,
            removal_policy=removal,
        )
        # Access policy set directly on the domain (the L2's addAccessPolicies would add a custom
        # resource Lambda): IAM principals of this account, narrowed further by their own policies
        # and by fine-grained access control.
        cfn_domain = self.domain.node.default_child
        assert isinstance(cfn_domain, opensearch.CfnDomain)
        cfn_domain.access_policies = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:{cdk.Aws.PARTITION}:iam::{cdk.Aws.ACCOUNT_ID}:root"},
                    "Action": "es:ESHttp*",
                    # Built from the name: referencing the domain's own Arn would be circular.
                    "Resource": self.format_arn(
                        service="es",
                        resource="domain",
                        resource_name=f"{names.prefix}-search/*",  # == search_domain_arn/*
                    ),
                }
            ],
        }
        logs.ResourcePolicy(
            self,
            "SearchLogsPolicy",
            resource_policy_name=f"{names.prefix}-opensearch-logs",
            policy_statements=[
                iam.PolicyStatement(
                    principals=[iam.ServicePrincipal("es.amazonaws.com")],
                    actions=["logs:PutLogEvents", "logs:CreateLogStream"],
                    resources=[g.log_group_arn for g in search_logs.values()],
                    conditions={"StringEquals": {"aws:SourceAccount": cdk.Aws.ACCOUNT_ID}},
                )
            ],
        )
        ack(
            self.domain,
            "OS3",
            "VPC-only domain: network access is limited by its security group to the in-VPC "
            "platform functions; requests are IAM-signed and checked by fine-grained access "
            "control. IP allow lists do not apply to private VPC addresses.",
        )
        self.search_endpoint = f"https://{self.domain.domain_endpoint}"
        if nodes < 3:
            ack(
                self.domain,
                "OS4",
                f"Stage {config.stage} has {nodes} data node(s); dedicated master nodes are not "
                "worth their cost below three data nodes.",
            )
        else:
            ack(
                self.domain,
                "OS4",
                "Dedicated master nodes are deferred until the cluster grows; data nodes are "
                "spread over two AZs with zone awareness.",
            )
        if az_count < 2:
            ack(
                self.domain,
                "OS7",
                f"Stage {config.stage} runs a single data node (no zone awareness) to save cost.",
            )

        # Explicit, stable export names: service stacks import these with Fn::ImportValue, and the
        # IAM resources that embed them render predictably (cdk-nag findings are acknowledged by
        # their exact text).
        self.exports = {
            "neptune-resource-id": self.neptune_cluster.attr_cluster_resource_id,
            "graph-endpoint": self.graph_endpoint,
            "search-endpoint": self.search_endpoint,
        }
        for name, value in self.exports.items():
            cdk.CfnOutput(self, cid_of(name), value=value, export_name=f"{names.prefix}-{name}")

    @staticmethod
    def import_value(stage: str, name: str) -> str:
        return cdk.Fn.import_value(f"omp-{stage}-{name}")

    @staticmethod
    def neptune_resource_arn(scope: cdk.Stack, stage: str) -> str:
        resource_id = NetworkStack.import_value(stage, "neptune-resource-id")
        return scope.format_arn(
            service="neptune-db",
            resource=resource_id,
            resource_name="*",
            arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
        )

    @staticmethod
    def search_domain_arn(scope: cdk.Stack, stage: str) -> str:
        return scope.format_arn(
            service="es", resource="domain", resource_name=f"omp-{stage}-search"
        )


def cid_of(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("-"))
