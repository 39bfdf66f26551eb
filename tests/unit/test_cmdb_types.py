"""CI types: built-in definitions, inheritance, attribute validation, relation rules."""

import pytest

from omp.domain.cmdb.builtin import builtin_types
from omp.domain.cmdb.types import (
    AttributeDef,
    CiType,
    CiTypeSpec,
    check_attributes,
    check_definition,
    coerce,
    natural_key_of,
    relation_allowed,
    resolve,
)
from omp.domain.errors import ValidationFailed


def chain(name):
    types, out = builtin_types(), []
    while name:
        out.append(types[name])
        name = types[name].parent
    return out


def resolved(name):
    return resolve(chain(name))


def test_every_issue_type_is_built_in_and_well_formed():
    names = set(builtin_types())
    wanted = {
        "service",
        "application",
        "team",
        "ec2_instance",
        "lambda_function",
        "rds_instance",
        "dynamodb_table",
        "load_balancer",
        "sqs_queue",
        "sns_topic",
        "vpc",
        "subnet",
        "security_group",
        "ecs_service",
        "site",
        "rack",
        "device",
        "interface",
        "cable",
        "virtual_machine",
        "cluster",
        "prefix",
        "ip_address",
        "vlan",
        "circuit",
        "tenant",
    }
    assert wanted <= names
    for t in builtin_types().values():
        parent = resolved(t.parent) if t.parent else None
        check_definition(
            CiTypeSpec(**t.model_dump(exclude={"builtin", "version", "created_at", "updated_at"})),
            parent,
        )
        for rule in t.relations:
            assert rule.target == "*" or rule.target in names, (t.name, rule.target)
        for d in t.derive:
            assert d.target_type in names


def test_subtype_inherits_parent_attributes_relations_and_natural_key():
    ec2 = resolved("ec2_instance")
    assert ec2.ancestors == ["aws_resource"]
    assert {"arn", "region", "instance_id", "subnet_id"} <= {a.name for a in ec2.attributes}
    assert ec2.natural_key == "arn"
    assert relation_allowed(ec2, "owned_by", resolved("team"))  # inherited from aws_resource
    assert relation_allowed(ec2, "member_of", resolved("subnet")).cardinality == "one"
    assert relation_allowed(ec2, "contains", resolved("subnet")) is None


def test_target_rule_matches_subtypes():
    app = resolved("application")
    assert relation_allowed(app, "runs_on", resolved("ec2_instance"))  # target "*"
    assert relation_allowed(resolved("service"), "owned_by", resolved("team"))
    assert relation_allowed(resolved("service"), "owned_by", resolved("service")) is None


@pytest.mark.parametrize(
    ("kind", "value", "stored"),
    [
        ("string", "x", "x"),
        ("int", 3, 3),
        ("float", 3, 3.0),
        ("bool", True, True),
        ("datetime", "2026-03-10T12:00:00+01:00", "2026-03-10T11:00:00.000Z"),
        ("ip", "2001:db8::0001", "2001:db8::1"),
        ("cidr", "10.0.0.7/16", "10.0.0.0/16"),
        ("reference", "ci_01ABC", "ci_01ABC"),
    ],
)
def test_values_are_normalised(kind, value, stored):
    assert coerce(AttributeDef(name="a", type=kind), value) == stored


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("string", 1),
        ("int", True),
        ("int", 1.5),
        ("float", "1"),
        ("float", float("nan")),
        ("bool", "true"),
        ("datetime", "2026-03-10T12:00:00"),
        ("datetime", "yesterday"),
        ("ip", "10.0.0.300"),
        ("cidr", "10.0.0.0/33"),
        ("reference", "i-123"),
    ],
)
def test_bad_values_are_refused(kind, value):
    with pytest.raises(ValueError):
        coerce(AttributeDef(name="a", type=kind), value)


def test_enum_values():
    attr = AttributeDef(name="tier", type="enum", values=["a", "b"])
    assert coerce(attr, "a") == "a"
    with pytest.raises(ValueError, match="one of"):
        coerce(attr, "c")


def test_check_attributes_reports_every_problem_with_its_path():
    t = resolve(
        [
            CiType(
                name="x",
                attributes=[
                    AttributeDef(name="port", type="int", required=True),
                    AttributeDef(name="ip", type="ip"),
                    AttributeDef(name="zone", type="string", default="a"),
                ],
            )
        ]
    )
    with pytest.raises(ValidationFailed) as err:
        check_attributes(t, {}, {"ip": "nope", "colour": "red"}, creating=True)
    locs = {tuple(d["loc"]) for d in err.value.details}
    assert locs == {
        ("body", "attributes", "ip"),
        ("body", "attributes", "colour"),
        ("body", "attributes", "port"),
    }
    ok = check_attributes(t, {}, {"port": 80}, creating=True)
    assert ok.attributes == {"port": 80, "zone": "a"}
    merged = check_attributes(t, ok.attributes, {"zone": None, "ip": "10.0.0.1"}, creating=False)
    assert merged.attributes == {"port": 80, "ip": "10.0.0.1"}
    with pytest.raises(ValidationFailed):  # removing a required attribute
        check_attributes(t, ok.attributes, {"port": None}, creating=False)


def test_definition_problems_are_422_with_paths():
    spec = CiTypeSpec(
        name="thing",
        natural_key="serial",
        attributes=[
            AttributeDef(name="name", type="string"),
            AttributeDef(name="kind", type="enum"),
            AttributeDef(name="size", type="int", default="big"),
        ],
        derive=[{"attribute": "nope", "relation": "member_of", "target_type": "vpc"}],
    )
    with pytest.raises(ValidationFailed) as err:
        check_definition(spec, None)
    locs = {tuple(d["loc"][1:]) for d in err.value.details}
    assert locs == {
        ("attributes", 0, "name"),
        ("attributes", 1, "values"),
        ("attributes", 2, "default"),
        ("natural_key",),
        ("derive", 0, "attribute"),
    }


def test_redefining_an_inherited_attribute_is_refused():
    spec = CiTypeSpec(
        name="my_vm", parent="ec2_instance", attributes=[AttributeDef(name="arn", type="string")]
    )
    with pytest.raises(ValidationFailed):
        check_definition(spec, resolved("ec2_instance"))


def test_natural_key():
    assert natural_key_of(resolved("service"), "checkout", {}) == "checkout"
    assert natural_key_of(resolved("ec2_instance"), "web", {"arn": "arn:x"}) == "arn:x"
    assert natural_key_of(resolved("ec2_instance"), "web", {}) is None


def test_resource_lookups():
    from omp.domain.cmdb.resources import Lookup, lookups

    assert lookups("arn:aws:ec2:us-east-1:1:instance/i-1") == [Lookup("ec2_instance", None)]
    assert lookups("arn:aws:lambda:us-east-1:1:function:f") == [Lookup("lambda_function", None)]
    assert lookups("arn:aws:sqs:us-east-1:1:q") == [Lookup("sqs_queue", None)]
    assert lookups("arn:aws:s3:::bucket") == []
    assert lookups("i-0abc12345") == [Lookup("ec2_instance", "instance_id")]
    assert lookups("subnet-0abc1234") == [Lookup("subnet", "subnet_id")]
    assert lookups("checkout") == [Lookup("service", None), Lookup("application", None)]
