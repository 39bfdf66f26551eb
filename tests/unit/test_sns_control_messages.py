"""SNS control messages posted to a webhook (an HTTPS subscription) are refused with a reason
that says what to do, by the named CloudWatch route and by format detection alike."""

import pytest

from omp.domain.signals import UnparseablePayload
from omp.sources import cloudwatch, detect

CONFIRMATION = {
    "Type": "SubscriptionConfirmation",
    "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
    "Token": "2336412f37fb687f5d51e6e2425f004aed0b3f6d4a8d8d9a2d4a1d5a",
    "TopicArn": "arn:aws:sns:us-east-1:123456789012:MyTopic",
    "Message": "You have chosen to subscribe to the topic arn:aws:sns:us-east-1:123456789012:MyTopic.",
    "SubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Token=x",
    "Timestamp": "2012-04-26T20:45:04.751Z",
}


@pytest.mark.parametrize("kind", ["SubscriptionConfirmation", "UnsubscribeConfirmation"])
@pytest.mark.parametrize("normalise", [cloudwatch.normalise, detect.normalise_any])
def test_control_messages_are_refused_with_what_to_do(kind, normalise):
    with pytest.raises(UnparseablePayload, match=f"an SNS {kind}.*console with its Token"):
        normalise(CONFIRMATION | {"Type": kind})


def test_a_notification_is_still_a_notification():
    assert cloudwatch.sns_control_refusal({"Type": "Notification", "Message": "{}"}) is None
