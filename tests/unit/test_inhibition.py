import pytest
from pydantic import ValidationError

from omp.domain.inhibition import (
    Inhibition,
    InhibitRule,
    InhibitRuleIn,
    explain_inhibition,
    inhibited,
)
from omp.domain.matchers import parse_matchers


def rule(source, target, equal=()):
    return InhibitRule(parse_matchers(source), parse_matchers(target), tuple(equal))


CRIT_OVER_WARN = rule('severity="critical"', 'severity="warning"', ["alertname", "cluster"])


@pytest.mark.parametrize(
    ("target", "firing", "expected"),
    [
        # a matching source with equal labels inhibits
        (
            {"alertname": "Disk", "severity": "warning", "cluster": "a"},
            [{"alertname": "Disk", "severity": "critical", "cluster": "a"}],
            0,
        ),
        # an `equal` label differs
        (
            {"alertname": "Disk", "severity": "warning", "cluster": "a"},
            [{"alertname": "Disk", "severity": "critical", "cluster": "b"}],
            None,
        ),
        # `equal` label missing on one side only: "" != "a"
        (
            {"alertname": "Disk", "severity": "warning", "cluster": "a"},
            [{"alertname": "Disk", "severity": "critical"}],
            None,
        ),
        # `equal` label missing on both sides counts as equal
        (
            {"alertname": "Disk", "severity": "warning"},
            [{"alertname": "Disk", "severity": "critical"}],
            0,
        ),
        # an empty value equals a missing label
        (
            {"alertname": "Disk", "severity": "warning", "cluster": ""},
            [{"alertname": "Disk", "severity": "critical"}],
            0,
        ),
        # the target does not match the target matchers
        (
            {"alertname": "Disk", "severity": "info", "cluster": "a"},
            [{"alertname": "Disk", "severity": "critical", "cluster": "a"}],
            None,
        ),
        # no firing source
        ({"alertname": "Disk", "severity": "warning", "cluster": "a"}, [], None),
        # the source does not match the source matchers
        (
            {"alertname": "Disk", "severity": "warning", "cluster": "a"},
            [{"alertname": "Disk", "severity": "warning", "cluster": "a"}],
            None,
        ),
        # one of several firing alerts is enough
        (
            {"alertname": "Disk", "severity": "warning", "cluster": "a"},
            [
                {"alertname": "Other", "severity": "critical", "cluster": "a"},
                {"alertname": "Disk", "severity": "critical", "cluster": "a"},
            ],
            0,
        ),
    ],
)
def test_inhibition_semantics(target, firing, expected):
    assert inhibited(target, firing, [CRIT_OVER_WARN]) == expected


def test_source_matchers_are_anded():
    r = rule('alertname="NodeDown", env="prod"', 'severity="warning"', ["node"])
    target = {"severity": "warning", "node": "n1"}
    assert inhibited(target, [{"alertname": "NodeDown", "env": "prod", "node": "n1"}], [r]) == 0
    assert inhibited(target, [{"alertname": "NodeDown", "env": "dev", "node": "n1"}], [r]) is None
    assert inhibited(target, [{"alertname": "NodeDown", "node": "n1"}], [r]) is None


def test_target_matchers_are_anded():
    r = rule('alertname="NodeDown"', 'severity="warning", team="sre"')
    assert inhibited({"severity": "warning", "team": "sre"}, [{"alertname": "NodeDown"}], [r]) == 0
    assert inhibited({"severity": "warning"}, [{"alertname": "NodeDown"}], [r]) is None


def test_no_equal_labels_means_any_source_inhibits():
    r = rule('alertname="ClusterDown"', 'severity="warning"')
    assert (
        inhibited({"severity": "warning", "cluster": "x"}, [{"alertname": "ClusterDown"}], [r]) == 0
    )


def test_an_alert_matching_both_sides_does_not_inhibit_itself():
    r = rule('severity=~"warning|critical"', 'severity=~"warning|critical"', ["alertname"])
    alert = {"alertname": "Disk", "severity": "warning"}
    assert inhibited(alert, [alert], [r]) is None


def test_two_sided_alerts_do_not_inhibit_each_other_but_one_sided_sources_do():
    # Alertmanager: when the target also matches the source side, sources that also match the
    # target side are disregarded.
    r = rule('team="sre"', 'severity="warning"')
    target = {"team": "sre", "severity": "warning", "id": "1"}
    two_sided_source = {"team": "sre", "severity": "warning", "id": "2"}
    one_sided_source = {"team": "sre", "severity": "critical", "id": "3"}
    assert inhibited(target, [two_sided_source], [r]) is None
    assert inhibited(target, [two_sided_source, one_sided_source], [r]) == 0
    # a target that does not match the source side is inhibited by a two-sided source
    assert inhibited({"team": "dba", "severity": "warning"}, [two_sided_source], [r]) == 0


def test_first_matching_rule_index_and_explanation():
    rules = [
        rule('alertname="A"', 'severity="info"'),
        rule('alertname="B"', 'severity="warning"'),
        rule('alertname="C"', 'severity="warning"'),
    ]
    firing = [{"alertname": "X"}, {"alertname": "C"}, {"alertname": "B"}]
    assert inhibited({"severity": "warning"}, firing, rules) == 1
    assert explain_inhibition({"severity": "warning"}, firing, rules) == Inhibition(1, 2)
    assert inhibited({"severity": "critical"}, firing, rules) is None


def test_regex_matchers_in_rules():
    r = rule('alertname=~"Node.*"', 'alertname=~"Pod.*|Container.*"', ["node"])
    assert (
        inhibited(
            {"alertname": "PodCrash", "node": "n"}, [{"alertname": "NodeDown", "node": "n"}], [r]
        )
        == 0
    )
    assert (
        inhibited(
            {"alertname": "MyPodCrash", "node": "n"}, [{"alertname": "NodeDown", "node": "n"}], [r]
        )
        is None
    )


def test_request_model():
    r = InhibitRuleIn.model_validate(
        {
            "source_matchers": ['severity="critical"'],
            "target_matchers": [{"name": "severity", "value": "warning"}],
            "equal": ["alertname", "alertname", "cluster"],
        }
    ).to_rule()
    assert r.equal == ("alertname", "cluster")
    assert (
        inhibited(
            {"severity": "warning", "alertname": "x", "cluster": "c"},
            [{"severity": "critical", "alertname": "x", "cluster": "c"}],
            [r],
        )
        == 0
    )
    for bad in (
        {"source_matchers": [], "target_matchers": ['a="b"']},
        {"source_matchers": ['a="b"'], "target_matchers": []},
        {"source_matchers": ['a="b"'], "target_matchers": ['a="c"'], "equal": ["bad name"]},
        {"source_matchers": ['a=~"("'], "target_matchers": ['a="c"']},
    ):
        with pytest.raises(ValidationError):
            InhibitRuleIn.model_validate(bad)


def test_invalid_equal_label_in_dataclass():
    with pytest.raises(ValueError, match="equal"):
        InhibitRule((), (), ("not ok",))
