import pytest
from pydantic import ValidationError

from omp.domain.matchers import (
    Matcher,
    MatcherIn,
    MatchType,
    format_matchers,
    matches_all,
    parse_matchers,
    to_matcher,
)

LABELS = {"alertname": "HighCPU", "severity": "critical", "instance": "web-1", "env": "prod"}


@pytest.mark.parametrize(
    ("text", "labels", "expected"),
    [
        # equality
        ('severity="critical"', LABELS, True),
        ('severity="crit"', LABELS, False),
        ('severity!="critical"', LABELS, False),
        ('severity!="warning"', LABELS, True),
        # regex is anchored at both ends
        ('instance=~"web"', LABELS, False),
        ('instance=~"web-1"', LABELS, True),
        ('instance=~"web.*"', LABELS, True),
        ('instance=~".*1"', LABELS, True),
        ('instance=~"eb-"', LABELS, False),
        ('instance=~"web-1|db-1"', LABELS, True),  # alternation inside the anchors
        ('instance=~"db-1|web"', LABELS, False),  # `web` alone is not a full match
        ('instance!~"web.*"', LABELS, False),
        ('instance!~"web"', LABELS, True),
        # a missing label is the empty string
        ('team=""', LABELS, True),
        ('team!=""', LABELS, False),
        ('team!="sre"', LABELS, True),
        ('team="sre"', LABELS, False),
        ('team=~".*"', LABELS, True),
        ('team=~".+"', LABELS, False),
        ('team!~".+"', LABELS, True),
        ('team=~"sre|"', LABELS, True),
        # an empty value on a present label
        ('env=""', {"env": ""}, True),
        # regex does not match across newlines with `.` (Go RE2 default)
        ('msg=~"a.b"', {"msg": "a\nb"}, False),
        # case sensitive unless the pattern says otherwise
        ('alertname=~"highcpu"', LABELS, False),
        ('alertname=~"(?i)highcpu"', LABELS, True),
    ],
)
def test_matcher_semantics(text, labels, expected):
    assert Matcher.parse(text).matches(labels) is expected


@pytest.mark.parametrize(
    ("text", "name", "kind", "value"),
    [
        ('a="b"', "a", MatchType.EQUAL, "b"),
        ('a!="b"', "a", MatchType.NOT_EQUAL, "b"),
        ('a=~"b.*"', "a", MatchType.REGEX, "b.*"),
        ('a!~"b.*"', "a", MatchType.NOT_REGEX, "b.*"),
        ("a=b", "a", MatchType.EQUAL, "b"),
        ("a = b c ", "a", MatchType.EQUAL, "b c"),
        ('a=""', "a", MatchType.EQUAL, ""),
        ("a=", "a", MatchType.EQUAL, ""),
        (r'a="say \"hi\""', "a", MatchType.EQUAL, 'say "hi"'),
        (r'a="back\\slash"', "a", MatchType.EQUAL, "back\\slash"),
        ('a="x,y"', "a", MatchType.EQUAL, "x,y"),
        ('aws.region="eu-west-1"', "aws.region", MatchType.EQUAL, "eu-west-1"),
    ],
)
def test_parse_string_form(text, name, kind, value):
    m = Matcher.parse(text)
    assert (m.name, m.type, m.value) == (name, kind, value)


@pytest.mark.parametrize(
    "text", ['="x"', 'a=="x"', "a", 'a~"x"', '1a="x"', 'a="unterminated', 'a=x"y']
)
def test_parse_rejects_malformed(text):
    with pytest.raises(ValueError):
        Matcher.parse(text)


def test_invalid_regex_is_a_clear_value_error():
    with pytest.raises(ValueError, match=r"invalid regular expression '\(unclosed'"):
        Matcher.parse('a=~"(unclosed"')
    with pytest.raises(ValueError, match="invalid regular expression"):
        Matcher.of("a", "[z-a]", is_regex=True)


def test_equality_matcher_with_regex_characters_is_literal():
    m = Matcher.parse('a="x.*"')
    assert m.matches({"a": "x.*"})
    assert not m.matches({"a": "xyz"})


@pytest.mark.parametrize(
    ("is_regex", "is_equal", "kind"),
    [
        (False, True, MatchType.EQUAL),
        (False, False, MatchType.NOT_EQUAL),
        (True, True, MatchType.REGEX),
        (True, False, MatchType.NOT_REGEX),
    ],
)
def test_object_form_round_trip(is_regex, is_equal, kind):
    m = Matcher.from_dict({"name": "a", "value": "b", "is_regex": is_regex, "is_equal": is_equal})
    assert m.type is kind
    assert m.to_dict() == {"name": "a", "value": "b", "is_regex": is_regex, "is_equal": is_equal}
    assert Matcher.parse(str(m)) == m


def test_object_form_reads_alertmanager_camel_case_and_defaults():
    m = Matcher.from_dict({"name": "a", "value": "b.*", "isRegex": True, "isEqual": False})
    assert m.type is MatchType.NOT_REGEX
    assert Matcher.from_dict({"name": "a", "value": "b"}).type is MatchType.EQUAL
    with pytest.raises(ValueError, match="needs 'value'"):
        Matcher.from_dict({"name": "a"})
    with pytest.raises(ValueError):
        Matcher.from_dict({"name": "a", "value": "b", "is_regex": "yes"})


def test_str_escapes_quotes_so_it_parses_back():
    m = Matcher("a", MatchType.EQUAL, 'he said "no"\\')
    assert Matcher.parse(str(m)) == m


def test_parse_matchers_list_braces_and_commas_in_quotes():
    ms = parse_matchers('{alertname="HighCPU", instance=~"web-1|web-2", note="a,b",}')
    assert [str(m) for m in ms] == [
        'alertname="HighCPU"',
        'instance=~"web-1|web-2"',
        'note="a,b"',
    ]
    assert parse_matchers("a=1,b!=2") == (
        Matcher("a", MatchType.EQUAL, "1"),
        Matcher("b", MatchType.NOT_EQUAL, "2"),
    )
    assert parse_matchers("{}") == ()
    assert format_matchers(ms).startswith('{alertname="HighCPU", ')
    with pytest.raises(ValueError):
        parse_matchers('{a="1"')


def test_matchers_are_anded_and_empty_set_matches_everything():
    both = parse_matchers('severity="critical", env="prod"')
    assert matches_all(both, LABELS)
    assert not matches_all(both, {**LABELS, "env": "dev"})
    assert not matches_all(both, {"severity": "critical"})
    assert matches_all((), {})
    assert matches_all((), LABELS)


def test_matches_empty():
    assert Matcher.parse('a!="x"').matches_empty
    assert Matcher.parse('a=~".*"').matches_empty
    assert not Matcher.parse('a="x"').matches_empty
    assert not Matcher.parse('a=~".+"').matches_empty


def test_to_matcher_accepts_every_form():
    expected = Matcher("a", MatchType.REGEX, "b")
    assert to_matcher('a=~"b"') == expected
    assert to_matcher({"name": "a", "value": "b", "is_regex": True}) == expected
    assert to_matcher(expected) is expected


def test_request_model_accepts_object_and_string_and_rejects_bad_regex():
    assert MatcherIn.model_validate('a=~"b"').to_matcher() == Matcher("a", MatchType.REGEX, "b")
    assert MatcherIn.model_validate({"name": "a", "value": "b", "isEqual": False}).to_matcher() == (
        Matcher("a", MatchType.NOT_EQUAL, "b")
    )
    with pytest.raises(ValidationError, match="invalid regular expression"):
        MatcherIn.model_validate({"name": "a", "value": "(", "is_regex": True})
    with pytest.raises(ValidationError):
        MatcherIn.model_validate({"name": "1bad", "value": "x"})
    with pytest.raises(ValidationError):
        MatcherIn.model_validate({"name": "a", "value": "x", "extra": 1})


def test_invalid_label_name_in_dataclass():
    with pytest.raises(ValueError, match="invalid label name"):
        Matcher("bad name", MatchType.EQUAL, "x")


# ---- RE2, as Alertmanager (Go's regexp) ---------------------------------------------------------


@pytest.mark.parametrize("pattern", [r"(a)\1", "(?=a)a", "(?!b)a", "(?<=a)b", "a++"])
def test_patterns_go_refuses_are_refused(pattern):
    with pytest.raises(ValueError, match="invalid regular expression"):
        Matcher.of("a", pattern, is_regex=True)


def test_matching_is_linear_time_where_a_backtracking_engine_explodes():
    # Python's re needs about 2**40 steps for this; RE2 answers at once.
    m = Matcher.of("a", "(x+x+)+y", is_regex=True)
    assert not m.matches_value("x" * 40)
    assert m.matches_value("xxxy")


def test_go_semantics_anchoring_flags_and_dot():
    assert Matcher.of("a", "(?i)web|api", is_regex=True).matches_value("WEB")
    assert not Matcher.of("a", "web|api", is_regex=True).matches_value("webx")  # anchored
    assert not Matcher.of("a", "a.b", is_regex=True).matches_value("a\nb")  # . skips newline
    assert Matcher.of("a", "(?s)a.b", is_regex=True).matches_value("a\nb")
    assert Matcher.of("a", "x(?i)Y", is_regex=True).matches_value("xy")  # flags mid-pattern
