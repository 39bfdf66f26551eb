"""The catalog's `secrets` / `external_topics`: the environment contract and the exact IAM grants
(Secrets Manager read on the stage's notify prefix, SNS publish on the notify topic prefix)."""

from __future__ import annotations

import json

from infra import wiring
from omp.domain import notify_config
from tests.infra.checks import lambda_by_name, role_statements
from tests.infra.synth import Synth

DELIVERING = ("flush-notifications", "escalate-incidents")


def test_environment_names_the_prefixes_the_domain_checks():
    for name in DELIVERING:
        fn = wiring.function(name)
        env = wiring.environment(fn, lambda kind, res: f"<{kind}:{res}>", "prod")
        assert env["OMP_SECRET_PREFIX"] == notify_config.secret_prefix("prod") == "omp/prod/notify/"
        assert env["OMP_EXTERNAL_TOPIC_PREFIX"] == notify_config.topic_prefix("prod")
    plain = wiring.environment(wiring.function("route-notifications"), lambda k, r: r, "prod")
    assert "OMP_SECRET_PREFIX" not in plain and "OMP_EXTERNAL_TOPIC_PREFIX" not in plain


def _join(value: object) -> str:
    """An ARN built with Fn::Join, as text with the pseudo parameters named."""
    if isinstance(value, dict) and "Fn::Join" in value:
        sep, parts = value["Fn::Join"]
        return sep.join(_join(p) for p in parts)
    if isinstance(value, dict) and "Ref" in value:
        return "${" + value["Ref"] + "}"
    return str(value)


def _statements(s: Synth, name: str) -> list[dict]:
    stack, _, res = lambda_by_name(s, f"omp-dev-{name}")[0]
    return role_statements(s, stack, res)[0]


def test_delivering_functions_read_only_notify_secrets_and_publish_only_notify_topics(dev: Synth):
    for name in DELIVERING:
        statements = _statements(dev, name)
        secrets = [s for s in statements if "secretsmanager" in json.dumps(s["Action"])]
        assert len(secrets) == 1
        assert secrets[0]["Action"] == "secretsmanager:GetSecretValue"
        assert _join(secrets[0]["Resource"]) == (
            "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:"
            "secret:omp/dev/notify/*"
        )
        publish = [s for s in statements if "sns:Publish" in json.dumps(s["Action"])]
        assert len(publish) == 1 and publish[0]["Action"] == "sns:Publish"
        assert _join(publish[0]["Resource"]) == (
            "arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:omp-dev-notify-*"
        )


def test_no_other_function_reads_secrets_or_publishes_to_notify_topics(dev: Synth):
    for fn in wiring.FUNCTIONS:
        if fn.name in DELIVERING:
            continue
        text = json.dumps(_statements(dev, fn.name))
        assert "secretsmanager" not in text, fn.name
        assert "-notify-" not in text, fn.name
