"""AWS Config discovery: configuration item changes become CI writes and relations; a scheduled
reconcile compares the CMDB with what Config records and marks the missing CIs stale, then
retires them.

- A change is keyed on the resource's ARN (the AWS types' natural key). An item captured before
  the one the CI holds (`config_captured_at`) is skipped: Config events can arrive out of order.
  An item whose mapped attributes equal the stored ones writes nothing (a redelivered event, the
  reconcile seeing what an event already applied): no version.
- `ResourceDeleted` / `ResourceNotRecorded` retire the CI (one version, which also records the
  deletion's capture time so an older change cannot restore it).
- Config `relationships` become edges with `source: aws-config` through `topology.bulk_relate`
  (the types' relation rules decide; related resources not in the CMDB are skipped); edges
  discovery made that a later item no longer names are removed (never edges others made).
- The reconcile: phase `discover` pages ListDiscoveredResources per supported type and applies
  BatchGetResourceConfig's items; phase `sweep` pages the active CIs of those types that Config
  discovered and asks Config for them again: one it no longer returns gets `stale_since`, and is
  retired once stale for the grace period. Both phases stop for the Lambda deadline and go on
  from a saved cursor at the next tick. With the `config_aggregator` setting both phases read
  the aggregator instead (keys carry the source account and region), and the sweep only judges
  CIs of the account-regions the run listed; without it, only CIs of the function's own account
  and region.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from omp.domain.cmdb import discovery
from omp.domain.cmdb.cis import BatchUpsert, Ci, CiStatus, UpdateCi, UpsertItem
from omp.domain.cmdb.discovery import SOURCE, BadConfigItem, ConfigItem
from omp.domain.errors import DomainError
from omp.domain.timeutil import iso
from omp.services import cmdb
from omp.services.cmdb import Context, TypeCache

if TYPE_CHECKING:
    from omp.ports import CiRepository, Clock, EventPublisher, Graph

logger = logging.getLogger("omp.cmdb.discovery")

ACTOR = "aws-config"
DEFAULT_GRACE_HOURS = 24.0
# attributes that change with every capture: alone they make no new version
_MARKERS = ("config_captured_at", "configuration_state")


def _fitting(item: ConfigItem, types: TypeCache) -> dict[str, Any]:
    """The item's attributes that fit the type; a value that does not (an enum value Config
    added later) is left out and logged, not a failed item."""
    from omp.domain.cmdb.types import coerce

    ci_type = types.get(item.ci_type)
    out: dict[str, Any] = {}
    for name, value in item.attributes.items():
        attr = ci_type.attribute(name)
        if attr is None:
            continue
        try:
            out[name] = coerce(attr, value)
        except ValueError as exc:
            logger.warning("%s %s: %s left out: %s", item.ci_type, item.arn, name, exc)
    return out


def _same(found: Ci, attributes: dict[str, Any]) -> bool:
    if found.status is not CiStatus.ACTIVE or "stale_since" in found.attributes:
        return False
    return all(
        found.attributes.get(k) == v
        or (k in found.conflicts and found.conflicts[k].get("value") == v)
        for k, v in attributes.items()
        if k not in _MARKERS
    )


def apply(
    item: ConfigItem,
    *,
    types: TypeCache,
    repo: CiRepository,
    events: EventPublisher,
    clock: Clock,
    graph: Graph | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """Apply one Config item; returns `{outcome, ci_id?, reason?, relations?}` with outcome
    created, updated, unchanged, retired, skipped (reason) or failed (reason)."""
    ctx = Context(
        actor=ACTOR,
        request_id=request_id,
        source=SOURCE,
        reason=f"AWS Config {item.status} captured {item.captured_at}",
    )
    found = repo.find_by_key(item.ci_type, item.arn)
    stored = found.attributes.get("config_captured_at") if found else None
    if found is not None and isinstance(stored, str) and stored > item.captured_at:
        return {
            "outcome": "skipped",
            "ci_id": found.id,
            "reason": f"captured {item.captured_at}, before the stored {stored}",
        }
    if item.deleted:
        if found is None:
            return {"outcome": "skipped", "reason": "a deleted resource that is not in the CMDB"}
        if found.status is CiStatus.RETIRED:
            return {"outcome": "unchanged", "ci_id": found.id}
        retired = _retire(
            found, item.captured_at, ctx, types=types, repo=repo, events=events, clock=clock
        )
        return {"outcome": "retired", "ci_id": retired.id}
    attributes = _fitting(item, types)
    if found is not None:
        # a value Config set and no longer reports (a stopped instance's public IP) goes
        for name in discovery.mapped_attributes(item.ci_type):
            if name not in attributes and found.attribute_sources.get(name) == SOURCE:
                attributes[name] = None
    if found is not None and _same(found, attributes):
        outcome: dict[str, Any] = {"outcome": "unchanged", "ci_id": found.id}
    else:
        if found is not None:
            attributes["stale_since"] = None  # seen again
        # the name is discovery's only for a new CI: a renamed CI keeps the user's name
        body = BatchUpsert(
            items=[
                UpsertItem(
                    type=item.ci_type,
                    name=found.name if found else item.name,
                    attributes=attributes,
                )
            ],
            source=SOURCE,
        )
        result = cmdb.batch_upsert(body, ctx, types=types, repo=repo, events=events, clock=clock)[0]
        if result.outcome == "failed":
            error = result.error or {}
            return {"outcome": "failed", "reason": f"{error.get('code')}: {error.get('message')}"}
        outcome = {"outcome": result.outcome, "ci_id": result.ci_id}
    if graph is not None:
        outcome["relations"] = _relate(
            item, str(outcome["ci_id"]), types, repo, graph, events, clock
        )
    return outcome


def _retire(
    found: Ci,
    captured_at: str,
    ctx: Context,
    *,
    types: TypeCache,
    repo: CiRepository,
    events: EventPublisher,
    clock: Clock,
) -> Ci:
    """Retired in one version that also records the deletion's capture time."""
    from omp.domain.cmdb import cis as domain

    current, head = cmdb.get_ci_with_head(found.id, repo)
    attributes = dict(current.attributes, config_captured_at=captured_at)
    after = current.model_copy(
        update={
            "status": CiStatus.RETIRED,
            "attributes": attributes,
            "attribute_sources": {**current.attribute_sources, "config_captured_at": SOURCE},
            "sources": current.sources if SOURCE in current.sources else [*current.sources, SOURCE],
            "version": current.version + 1,
            "updated_at": iso(clock.now()),
        }
    )
    ci_type = types.get(current.type)
    repo.write(after, current, cmdb._record(current, after, "retired", ctx, head), ci_type)
    events.publish([domain.event("CiRetired", after, ctx.actor)])
    return after


def _relate(
    item: ConfigItem,
    ci_id: str,
    types: TypeCache,
    repo: CiRepository,
    graph: Graph,
    events: EventPublisher,
    clock: Clock,
) -> dict[str, int]:
    from omp.services import topology

    got = repo.get(ci_id)
    if got is None:
        return {}
    source = got[0]
    edges: list[tuple[Ci, str, Ci]] = []
    unknown = 0
    for relation, target_type, target_id in item.relationships:
        ci_type = discovery.RESOURCE_TYPES.get(target_type)
        if ci_type is None:
            unknown += 1  # a kind the CMDB does not keep (volumes, network interfaces, ...)
            continue
        page = repo.find_by_attribute(ci_type, "resource_id", target_id, 2, None)
        targets = [c for c in page.items if c.status is CiStatus.ACTIVE and c.id != source.id]
        if len(targets) != 1:
            unknown += 1  # not discovered yet: its own item links it later
            continue
        edges.append((source, relation, targets[0]))
    # first the edges discovery made that the item no longer names (a moved instance frees its
    # "one" subnet edge before the new one is added); edges others made are never touched
    wanted = {(relation, target.id) for _, relation, target in edges}
    gone = [e for e in graph.hop([source.id], None, []) if (e["type"], e["target"]) not in wanted]
    removed = 0
    if gone:
        made_by = graph.edge_sources([str(e["id"]) for e in gone])
        for edge in gone:
            if made_by.get(str(edge["id"])) == SOURCE:
                topology.remove_relation(
                    source.id, str(edge["id"]), actor=ACTOR, repo=repo, graph=graph, events=events
                )
                removed += 1
    counts = topology.bulk_relate(
        edges, actor=ACTOR, source_name=SOURCE, types=types, graph=graph, events=events, clock=clock
    )
    return {**counts, "relations_removed": removed, "relations_unresolved": unknown}


# ---- the scheduled reconcile ------------------------------------------------------------------


def _grace(settings: dict[str, Any]) -> timedelta:
    hours = settings.get("stale_retire_after_hours", DEFAULT_GRACE_HOURS)
    if isinstance(hours, bool) or not isinstance(hours, int | float) or hours < 0:
        hours = DEFAULT_GRACE_HOURS
    return timedelta(hours=float(hours))


def _aggregator(settings: dict[str, Any]) -> str | None:
    name = settings.get("config_aggregator")
    return name if isinstance(name, str) and name else None


# The account-regions an aggregator run listed resources in (its scope, kept in the cursor):
# the region names once, and per account a bit mask over them (about 30 bytes an account, so an
# Organization of thousands of accounts still fits the cursor's item).


def _widen(scope: dict[str, Any], keys: list[dict[str, str]]) -> None:
    regions: list[str] = scope["regions"]
    accounts: dict[str, int] = scope["accounts"]
    for key in keys:
        if key["region"] not in regions:
            regions.append(key["region"])
        bit = 1 << regions.index(key["region"])
        accounts[key["accountId"]] = accounts.get(key["accountId"], 0) | bit


def _covers(scope: dict[str, Any], where: tuple[str, str] | None) -> bool:
    if where is None or where[1] not in scope["regions"]:
        return False
    return bool(scope["accounts"].get(where[0], 0) >> scope["regions"].index(where[1]) & 1)


def reconcile(
    *,
    config: Any,
    store: Any,
    types: TypeCache,
    repo: CiRepository,
    events: EventPublisher,
    clock: Clock,
    time_left: Callable[[], bool],
    home: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """One tick of the reconcile (see the module doc). Returns the counts and whether the run
    finished (`done`) or left a cursor for the next tick.

    Without the `config_aggregator` setting it reads this account's Config (ListDiscoveredResources,
    BatchGetResourceConfig) and sweeps only the CIs of `home` (the function's account and region;
    None: every CI, for callers that cannot tell). With it, it reads the aggregator and sweeps the
    CIs of the account-regions the run listed resources in; CIs elsewhere are `out_of_scope` and
    left as they are (never marked stale by a sweep that cannot see them)."""
    now = clock.now()
    settings = store.get()
    grace = _grace(settings)
    aggregator = _aggregator(settings)
    state = store.cursor()
    if state is not None and state.get("aggregator") != aggregator:
        # the setting changed during a run: what that run read belongs to the other scope
        logger.info("reconcile: config_aggregator changed, the run starts again")
        state = None
    if state is None:
        state = {"phase": "discover", "type": 0, "token": None, "started_at": iso(now)}
        if aggregator:
            state.update(aggregator=aggregator, scope={"regions": [], "accounts": {}})
    counts: dict[str, int] = {}

    def bump(key: str, n: int = 1) -> None:
        counts[key] = counts.get(key, 0) + n

    if aggregator:
        scope = state["scope"]

        def in_scope(where: tuple[str, str] | None) -> bool:
            return _covers(scope, where)
    else:

        def in_scope(where: tuple[str, str] | None) -> bool:
            # a CI that does not say where it lives is swept as before accounts were told apart
            return home is None or where is None or where == home

    kinds = list(discovery.RESOURCE_TYPES)
    while time_left():
        if state["phase"] == "discover":
            if state["type"] >= len(kinds):
                state = {**state, "phase": "sweep", "type": 0, "token": None}
                continue
            kind = kinds[state["type"]]
            if aggregator:
                keys, token = config.list_aggregate(aggregator, kind, state["token"])
                _widen(scope, keys)
                items, unprocessed = config.batch_get_aggregate(aggregator, keys)
            else:
                keys, token = config.list_discovered(kind, state["token"])
                items, unprocessed = config.batch_get(keys)
            bump("unprocessed", len(unprocessed))
            for raw in items:
                try:
                    item = discovery.parse(raw)
                except BadConfigItem as exc:
                    logger.warning("reconcile: item skipped: %s", exc)
                    bump("skipped")
                    continue
                bump(apply(item, types=types, repo=repo, events=events, clock=clock)["outcome"])
        else:
            ci_types = [discovery.RESOURCE_TYPES[k] for k in kinds]
            if state["type"] >= len(ci_types):
                store.save_cursor(None)
                done: dict[str, Any] = {"done": True, "started_at": state["started_at"]}
                if aggregator:
                    done.update(aggregator=aggregator, accounts=len(scope["accounts"]))
                return {**done, **counts}
            page = repo.list(ci_types[state["type"]], "active", 100, state["token"])
            token = page.next_token
            _sweep(
                page.items,
                config,
                aggregator,
                in_scope,
                grace,
                now,
                {"types": types, "repo": repo, "events": events, "clock": clock},
                bump,
            )
        state = (
            {**state, "token": token}
            if token
            else {**state, "type": state["type"] + 1, "token": None}
        )
        store.save_cursor(state)
    return {"done": False, "cursor": state, **counts}


def _ident(
    resource_type: Any, resource_id: Any, account: Any = None, region: Any = None
) -> tuple[str, ...]:
    """A resource as the sweep matches it: type and id, and for an aggregator also the source
    account and region (the same id can exist in several)."""
    return tuple(str(v) for v in (resource_type, resource_id, account, region) if v is not None)


def _key_ident(key: dict[str, str]) -> tuple[str, ...]:
    return _ident(key["resourceType"], key["resourceId"], key.get("accountId"), key.get("region"))


def _sweep(
    cis: list[Ci],
    config: Any,
    aggregator: str | None,
    in_scope: Callable[[tuple[str, str] | None], bool],
    grace: timedelta,
    now: datetime,
    kw: dict[str, Any],
    bump: Callable[..., None],
) -> None:
    ours: dict[tuple[str, ...], Ci] = {}
    keys: list[dict[str, str]] = []
    for ci in cis:
        found = discovery.resource_key(ci.type, ci.attributes)
        if found is None or SOURCE not in ci.sources:
            continue
        where = discovery.located(ci.attributes)
        if not in_scope(where):
            bump("out_of_scope")  # another account's or region's CI: this run cannot see it
            continue
        if aggregator and where is not None:  # in scope means located
            found = {**found, "accountId": where[0], "region": where[1]}
        ours[_key_ident(found)] = ci
        keys.append(found)
    if not ours:
        return
    if aggregator:
        items, unprocessed = config.batch_get_aggregate(aggregator, keys)
        seen = {
            _ident(
                i.get("resourceType"), i.get("resourceId"), i.get("accountId"), i.get("awsRegion")
            )
            for i in items
        }
    else:
        items, unprocessed = config.batch_get(keys)
        seen = {_ident(i.get("resourceType"), i.get("resourceId")) for i in items}
    seen |= {_key_ident(k) for k in unprocessed}  # unknown: not gone
    if unprocessed:
        bump("unprocessed", len(unprocessed))
    for key, ci in ours.items():
        stale = ci.attributes.get("stale_since")
        try:
            if key in seen:
                if stale is not None:
                    cmdb.update_ci(
                        ci.id,
                        UpdateCi(
                            version=ci.version, attributes={"stale_since": None}, source=SOURCE
                        ),
                        Context(ACTOR, None, SOURCE, "AWS Config records the resource again"),
                        **kw,
                    )
                    bump("fresh")
                continue
            if stale is None:
                cmdb.update_ci(
                    ci.id,
                    UpdateCi(
                        version=ci.version, attributes={"stale_since": iso(now)}, source=SOURCE
                    ),
                    Context(ACTOR, None, SOURCE, "AWS Config no longer records the resource"),
                    **kw,
                )
                bump("stale")
            elif now - datetime.fromisoformat(str(stale).replace("Z", "+00:00")) >= grace:
                cmdb.retire_ci(
                    ci.id,
                    Context(ACTOR, None, SOURCE, f"not recorded by AWS Config since {stale}"),
                    expected_version=ci.version,
                    **kw,
                )
                bump("retired")
        except DomainError as exc:  # changed meanwhile (409): the next run sees it again
            logger.warning("reconcile: %s left as it is: %s", ci.id, exc.code)
            bump("failed")


# ---- the settings document ---------------------------------------------------------------------


def get_settings(store: Any) -> Any:
    """The stored CMDB settings, or the defaults with version 0."""
    from omp.domain.cmdb.settings import view

    return view(store.document.get())


def put_settings(body: Any, *, actor: str, store: Any, clock: Clock) -> Any:
    """Replace the settings at the version read (409 VERSION_CONFLICT otherwise)."""
    from omp.domain.cmdb.settings import document, view

    return view(store.document.put(document(body), body.version, actor=actor, now=clock.now()))
