"""NetBox dumpdata -> CIs and relations (pure: the plan an import executes).

A NetBox `manage.py dumpdata` file is a JSON list of `{model, pk, fields}`. Sites, racks,
devices, interfaces, cables, virtual machines, clusters, prefixes, IP addresses, VLANs, circuits
and tenants become CIs keyed by their NetBox id (`netbox_id`, the NetBox kinds' natural key),
so a re-import matches every object again, whatever was renamed. Foreign keys become relations;
a cable becomes a CI connected to the interfaces it terminates on, and a `connects_to` edge
between the devices at its two ends.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

MODELS: dict[str, str] = {
    "tenancy.tenant": "tenant",
    "dcim.site": "site",
    "dcim.rack": "rack",
    "dcim.device": "device",
    "dcim.interface": "interface",
    "dcim.cable": "cable",
    "virtualization.cluster": "cluster",
    "virtualization.virtualmachine": "virtual_machine",
    "ipam.prefix": "prefix",
    "ipam.ipaddress": "ip_address",
    "ipam.vlan": "vlan",
    "circuits.circuit": "circuit",
}
# foreign key field -> (target model, relation), per model
_LINKS: dict[str, list[tuple[str, str, str]]] = {
    "dcim.rack": [("site", "dcim.site", "member_of")],
    "dcim.device": [
        ("rack", "dcim.rack", "member_of"),
        ("site", "dcim.site", "member_of"),
        ("cluster", "virtualization.cluster", "member_of"),
    ],
    "dcim.interface": [("device", "dcim.device", "member_of")],
    "virtualization.cluster": [("site", "dcim.site", "member_of")],
    "virtualization.virtualmachine": [
        ("cluster", "virtualization.cluster", "runs_on"),
        ("device", "dcim.device", "runs_on"),
    ],
    "ipam.prefix": [("site", "dcim.site", "member_of"), ("vlan", "ipam.vlan", "member_of")],
    "ipam.vlan": [("site", "dcim.site", "member_of")],
}
_SITE_STATUS = {"planned", "staging", "active", "decommissioning", "retired"}

Key = tuple[str, int]  # (NetBox model, pk)


class NotNetBox(ValueError):
    """The file is not a NetBox dumpdata export; the message says why."""


@dataclass
class Plan:
    cis: dict[Key, dict[str, Any]] = field(default_factory=dict)  # key -> {type, name, attrs}
    relations: list[tuple[Key, str, Key]] = field(default_factory=list)
    skipped: int = 0  # objects of models that are not CIs (permissions, templates, ...)


def parse(raw: bytes) -> list[dict[str, Any]]:
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise NotNetBox(f"not JSON: {exc}") from exc
    if not isinstance(data, list) or not data:
        raise NotNetBox("a NetBox dumpdata file is a non-empty JSON list of objects")
    for i, obj in enumerate(data):
        if not isinstance(obj, dict) or not isinstance(obj.get("model"), str):
            raise NotNetBox(f"object {i} has no `model`")
        if not isinstance(obj.get("fields"), dict):
            raise NotNetBox(f"object {i} ({obj['model']}) has no `fields`")
    if not any(obj["model"] in MODELS and isinstance(obj.get("pk"), int) for obj in data):
        raise NotNetBox("no NetBox sites, devices, prefixes, ... in the file")
    return data


def _name(model: str, pk: int, f: dict[str, Any], devices: dict[int, str]) -> str:
    if model == "dcim.interface":
        return f"{devices.get(f.get('device') or -1, 'device-' + str(f.get('device')))}/{f['name']}"
    for key in ("name", "cid", "prefix", "address", "label"):
        if f.get(key):
            return str(f[key])[:256]
    return f"{MODELS[model]}-{pk}"


def _num(value: Any) -> float | None:
    try:
        return None if value is None or value == "" else float(value)
    except (TypeError, ValueError):
        return None


def _attributes(model: str, pk: int, f: dict[str, Any], names: dict[Key, str]) -> dict[str, Any]:
    a: dict[str, Any] = {"netbox_id": pk}
    if model in ("tenancy.tenant", "dcim.site"):
        a["slug"] = f.get("slug") or None
    if model == "dcim.site":
        a["facility"] = f.get("facility") or None
        a["site_status"] = f.get("status") if f.get("status") in _SITE_STATUS else None
    if model == "dcim.rack":
        a["site"] = names.get(("dcim.site", f.get("site") or -1))
        a["u_height"] = f.get("u_height") if isinstance(f.get("u_height"), int) else None
        a["serial"] = f.get("serial") or None
    if model == "dcim.device":
        a["serial"] = f.get("serial") or None
        a["asset_tag"] = f.get("asset_tag") or None
        a["position"] = _num(f.get("position"))
    if model == "dcim.interface":
        a["device"] = names.get(("dcim.device", f.get("device") or -1))
        a["kind"] = f.get("type") or None
        a["enabled"] = f.get("enabled") if isinstance(f.get("enabled"), bool) else None
        a["mtu"] = f.get("mtu") if isinstance(f.get("mtu"), int) else None
        a["mac_address"] = f.get("mac_address") or None
    if model == "dcim.cable":
        a["label"] = f.get("label") or None
        a["kind"] = f.get("type") or None
        a["color"] = f.get("color") or None
        a["length"] = _num(f.get("length"))
    if model == "virtualization.virtualmachine":
        a["vcpus"] = _num(f.get("vcpus"))
        a["memory_mb"] = f.get("memory") if isinstance(f.get("memory"), int) else None
        a["disk_gb"] = f.get("disk") if isinstance(f.get("disk"), int) else None
    if model == "ipam.prefix":
        a["prefix"] = f.get("prefix")
    if model == "ipam.ipaddress":
        a["address"] = f.get("address")
        a["dns_name"] = f.get("dns_name") or None
    if model == "ipam.vlan":
        a["vid"] = f.get("vid") if isinstance(f.get("vid"), int) else None
    if model == "circuits.circuit":
        a["cid"] = f.get("cid")
        rate = f.get("commit_rate")
        a["commit_rate_kbps"] = rate if isinstance(rate, int) else None
    return {k: v for k, v in a.items() if v is not None}


def plan(objects: list[dict[str, Any]]) -> Plan:
    out = Plan()
    by_key: dict[Key, dict[str, Any]] = {}
    for obj in objects:
        if obj["model"] in MODELS and isinstance(obj.get("pk"), int):
            by_key[(obj["model"], obj["pk"])] = obj["fields"]
        elif obj["model"] not in ("dcim.cabletermination", "circuits.circuittermination"):
            out.skipped += 1
    devices = {
        pk: str(f.get("name") or f"device-{pk}")
        for (m, pk), f in by_key.items()
        if m == "dcim.device"
    }
    names: dict[Key, str] = {}
    for (model, pk), f in by_key.items():
        names[(model, pk)] = _name(model, pk, f, devices)
    for (model, pk), f in by_key.items():
        out.cis[(model, pk)] = {
            "type": MODELS[model],
            "name": names[(model, pk)],
            "attributes": _attributes(model, pk, f, names),
        }

    def link(source: Key, relation: str, target: Key) -> None:
        if source in by_key and target in by_key and source != target:
            out.relations.append((source, relation, target))

    for (model, pk), f in by_key.items():
        for fk, target_model, relation in _LINKS.get(model, []):
            if isinstance(f.get(fk), int):
                link((model, pk), relation, (target_model, f[fk]))
        if isinstance(f.get("tenant"), int) and model != "tenancy.tenant":
            link((model, pk), "owned_by", ("tenancy.tenant", f["tenant"]))
        assigned = f.get("assigned_object_type") in (["dcim", "interface"], "dcim.interface")
        if model == "ipam.ipaddress" and assigned and isinstance(f.get("assigned_object_id"), int):
            link((model, pk), "member_of", ("dcim.interface", f["assigned_object_id"]))
    # cables: terminations on interfaces, and device to device through them
    ends: dict[int, dict[str, list[int]]] = {}
    for obj in objects:
        f = obj["fields"]
        if obj["model"] == "dcim.cabletermination" and f.get("termination_type") in (
            ["dcim", "interface"],
            "dcim.interface",
        ):
            cable, iface = f.get("cable"), f.get("termination_id")
            if isinstance(cable, int) and isinstance(iface, int):
                link(("dcim.cable", cable), "connects_to", ("dcim.interface", iface))
                ends.setdefault(cable, {}).setdefault(str(f.get("cable_end")), []).append(iface)
        if obj["model"] == "circuits.circuittermination":
            circuit, site = f.get("circuit"), f.get("site")
            if isinstance(circuit, int) and isinstance(site, int):
                link(("circuits.circuit", circuit), "connects_to", ("dcim.site", site))
    for sides in ends.values():
        a_devices = {
            by_key.get(("dcim.interface", i), {}).get("device") for i in sides.get("A", [])
        }
        b_devices = {
            by_key.get(("dcim.interface", i), {}).get("device") for i in sides.get("B", [])
        }
        for a in a_devices:
            for b in b_devices:
                if isinstance(a, int) and isinstance(b, int) and a != b:
                    link(("dcim.device", a), "connects_to", ("dcim.device", b))
    out.relations = list(dict.fromkeys(out.relations))
    return out
