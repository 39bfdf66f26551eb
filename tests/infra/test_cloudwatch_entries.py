"""The CloudWatch entries in the synthesized template: the alarm-action function's resource
policy (CloudWatch alarms of this account only), the `cloudwatch-alarms` topic's policy and
the platform key's grant to CloudWatch, and the subscription."""

from __future__ import annotations

import json

from tests.infra.synth import Synth


def _dumps(value: object) -> str:
    return json.dumps(value, sort_keys=True)


def test_alarm_actions_may_invoke_only_from_this_accounts_alarms(dev: Synth) -> None:
    perms = [
        r["Properties"]
        for _, _, r in dev.resources("AWS::Lambda::Permission")
        if r["Properties"].get("Principal") == "lambda.alarms.cloudwatch.amazonaws.com"
    ]
    assert len(perms) == 1
    (perm,) = perms
    assert perm["Action"] == "lambda:InvokeFunction"
    assert perm["SourceAccount"] == {"Ref": "AWS::AccountId"}
    arn = _dumps(perm["SourceArn"])
    assert ":cloudwatch:" in arn and ":alarm:*" in arn and "AWS::AccountId" in arn
    assert "ReceiveCloudwatchAlarmAction" in _dumps(perm["FunctionName"])


def test_cloudwatch_may_publish_to_the_encrypted_alarm_topic(dev: Synth) -> None:
    topics = {
        lid: r["Properties"]
        for _, lid, r in dev.resources("AWS::SNS::Topic")
        if r["Properties"].get("TopicName") == "omp-dev-cloudwatch-alarms"
    }
    ((lid, topic),) = topics.items()
    assert "KmsMasterKeyId" in topic
    statements = [
        st
        for _, _, r in dev.resources("AWS::SNS::TopicPolicy")
        if {"Ref": lid} in r["Properties"]["Topics"]
        for st in r["Properties"]["PolicyDocument"]["Statement"]
        if st.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}
    ]
    (allow,) = statements
    assert allow["Effect"] == "Allow" and allow["Action"] == "sns:Publish"
    assert allow["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert ":alarm:*" in _dumps(allow["Condition"]["ArnLike"]["aws:SourceArn"])
    key_grants = [
        st
        for _, _, r in dev.resources("AWS::KMS::Key")
        for st in r["Properties"]["KeyPolicy"]["Statement"]
        if st.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}
    ]
    (grant,) = key_grants
    assert {"kms:Decrypt", "kms:GenerateDataKey*"} <= set(grant["Action"])
    subs = [
        r["Properties"]
        for _, _, r in dev.resources("AWS::SNS::Subscription")
        if "ReceiveCloudwatchSns" in _dumps(r["Properties"].get("Endpoint"))
    ]
    assert len(subs) == 1 and subs[0]["Protocol"] == "lambda"
