"""The NetBox dumpdata mapping (pure)."""

import json

import pytest

from omp.domain.cmdb import netbox
from tests.integration.test_cmdb_import import DUMP


def test_plan_maps_models_to_cis_and_foreign_keys_to_relations():
    plan = netbox.plan(netbox.parse(json.dumps(DUMP).encode()))
    assert len(plan.cis) == 14 and plan.skipped == 2  # the contenttype and the permission
    assert plan.cis[("dcim.interface", 1)]["name"] == "rtr1/eth0"
    assert plan.cis[("dcim.device", 1)]["attributes"] == {"netbox_id": 1, "position": 4.0}
    rels = {(s, r, t) for s, r, t in plan.relations}
    assert (("dcim.device", 1), "connects_to", ("dcim.device", 2)) in rels  # through the cable
    assert (("dcim.cable", 1), "connects_to", ("dcim.interface", 2)) in rels
    assert (("ipam.ipaddress", 1), "member_of", ("dcim.interface", 1)) in rels
    assert (("dcim.site", 1), "owned_by", ("tenancy.tenant", 1)) in rels
    assert len(plan.relations) == 20


def test_dangling_foreign_keys_make_no_relation():
    dump = [{"model": "dcim.device", "pk": 1, "fields": {"name": "d", "site": 99, "rack": None}}]
    plan = netbox.plan(netbox.parse(json.dumps(dump).encode()))
    assert plan.relations == []


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{nope", "not JSON"),
        (b"{}", "non-empty JSON list"),
        (b"[]", "non-empty JSON list"),
        (b'[{"fields": {}}]', "no `model`"),
        (b'[{"model": "dcim.site", "pk": 1}]', "no `fields`"),
        (b'[{"model": "auth.user", "pk": 1, "fields": {}}]', "no NetBox sites"),
    ],
)
def test_not_netbox_is_refused_with_a_reason(raw, reason):
    with pytest.raises(netbox.NotNetBox, match=reason):
        netbox.parse(raw)
