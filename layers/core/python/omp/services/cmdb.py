"""CMDB use cases: CI types, CIs (create, merge-update, retire, batch upsert), history.

Every CI change is one transactional write (the CI, its hash-chained history record and its
claims) followed by its domain event. Relations and traversals live in `omp.services.topology`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from omp.domain.cmdb import builtin
from omp.domain.cmdb import cis as domain
from omp.domain.cmdb.cis import (
    BatchUpsert,
    Ci,
    CiStatus,
    CreateCi,
    UpdateCi,
    UpsertResult,
)
from omp.domain.cmdb.history import GENESIS, Change, HistoryRecord, VerifyResult, seal, verify
from omp.domain.cmdb.sources import SourcePriority, holder_of, merge
from omp.domain.cmdb.types import (
    CiType,
    CiTypeSpec,
    CiTypeView,
    ResolvedType,
    UpdateCiType,
    check_attributes,
    check_definition,
    natural_key_of,
    resolve,
)
from omp.domain.errors import Conflict, DomainError, NotFound, ValidationFailed
from omp.domain.ids import is_id, new_id
from omp.domain.pagination import DEFAULT_LIMIT, Page
from omp.domain.timeutil import iso

if TYPE_CHECKING:
    from omp.ports import CiRepository, CiTypeRepository, Clock, EventPublisher, SearchIndex

MAX_PARENT_DEPTH = 10


# ---- types ----------------------------------------------------------------------------------


def _type_not_found(name: str) -> NotFound:
    return NotFound(f"CI type {name} does not exist", code="CI_TYPE_NOT_FOUND")


def find_type(name: str, repo: CiTypeRepository) -> CiType | None:
    return builtin.builtin_types().get(name) or repo.get(name)


def type_chain(name: str, repo: CiTypeRepository) -> list[CiType]:
    """The type and its ancestors, nearest first; NotFound for an unknown type."""
    chain: list[CiType] = []
    current: str | None = name
    while current is not None:
        found = find_type(current, repo)
        if found is None or len(chain) >= MAX_PARENT_DEPTH:
            raise _type_not_found(current)
        chain.append(found)
        current = found.parent
    return chain


class TypeCache:
    """Resolved types for one invocation (a batch upsert resolves each type once)."""

    def __init__(self, repo: CiTypeRepository) -> None:
        self.repo = repo
        self._resolved: dict[str, ResolvedType] = {}
        self._priority: SourcePriority | None = None

    def priority(self) -> SourcePriority:
        """The source priority (the settings document where the repository has one; else the
        default), read once per invocation."""
        if self._priority is None:
            read = getattr(self.repo, "source_priority", None)
            self._priority = SourcePriority.from_config(read() if callable(read) else None)
        return self._priority

    def get(self, name: str) -> ResolvedType:
        if name not in self._resolved:
            self._resolved[name] = resolve(type_chain(name, self.repo))
        return self._resolved[name]

    def for_ci(self, name: str, loc: list[Any]) -> ResolvedType:
        """The type of a new CI: 422 (not 404) when the body names a type that does not exist
        or is abstract."""
        try:
            resolved = self.get(name)
        except NotFound as exc:
            raise ValidationFailed(
                exc.message,
                code="UNKNOWN_CI_TYPE",
                details=[{"loc": loc, "msg": exc.message, "type": "unknown_type"}],
            ) from exc
        if name in builtin.ABSTRACT:
            msg = f"{name} is abstract: use one of its kinds"
            raise ValidationFailed(
                msg, code="UNKNOWN_CI_TYPE", details=[{"loc": loc, "msg": msg, "type": "abstract"}]
            )
        return resolved


def _check_references_to_types(spec: CiTypeSpec, repo: CiTypeRepository) -> None:
    problems = []
    for i, rule in enumerate(spec.relations):
        if rule.target != "*" and rule.target != spec.name and not find_type(rule.target, repo):
            problems.append(
                {"loc": ["body", "relations", i, "target"], "msg": f"no CI type {rule.target}"}
            )
    for i, d in enumerate(spec.derive):
        if d.target_type != spec.name and not find_type(d.target_type, repo):
            problems.append(
                {"loc": ["body", "derive", i, "target_type"], "msg": f"no CI type {d.target_type}"}
            )
    for i, a in enumerate(spec.attributes):
        if (
            a.reference_type
            and a.reference_type != spec.name
            and not find_type(a.reference_type, repo)
        ):
            problems.append(
                {
                    "loc": ["body", "attributes", i, "reference_type"],
                    "msg": f"no CI type {a.reference_type}",
                }
            )
    if problems:
        raise ValidationFailed(f"CI type {spec.name} names unknown types", details=problems)


def _parent(spec: CiTypeSpec, repo: CiTypeRepository) -> ResolvedType | None:
    if spec.parent is None:
        return None
    try:
        return resolve(type_chain(spec.parent, repo))
    except NotFound as exc:
        raise ValidationFailed(
            f"parent type {spec.parent} does not exist",
            details=[{"loc": ["body", "parent"], "msg": exc.message}],
        ) from exc


def create_type(spec: CiTypeSpec, *, repo: CiTypeRepository, clock: Clock) -> CiType:
    if builtin.is_builtin(spec.name):
        raise Conflict(f"{spec.name} is a built-in CI type", code="CI_TYPE_EXISTS")
    check_definition(spec, _parent(spec, repo))
    _check_references_to_types(spec, repo)
    stamp = iso(clock.now())
    ci_type = CiType(**spec.model_dump(), version=1, created_at=stamp, updated_at=stamp)
    repo.put(ci_type, None)
    return ci_type


def update_type(name: str, body: UpdateCiType, *, repo: CiTypeRepository, clock: Clock) -> CiType:
    """Replace a user type's definition. Its parent cannot change and an attribute keeps its
    value type (stored CIs were validated against it)."""
    if builtin.is_builtin(name):
        raise Conflict(
            f"{name} is a built-in CI type and cannot be changed", code="CI_TYPE_BUILTIN"
        )
    current = repo.get(name)
    if current is None:
        raise _type_not_found(name)
    if body.version != current.version:
        raise Conflict(
            f"CI type {name} is at version {current.version}, not {body.version}",
            code="VERSION_CONFLICT",
            details={"version": current.version},
        )
    spec = CiTypeSpec(name=name, **body.model_dump(exclude={"version"}))
    problems: list[dict[str, Any]] = []
    if spec.parent != current.parent:
        problems.append({"loc": ["body", "parent"], "msg": "the parent of a type cannot change"})
    old = {a.name: a for a in current.attributes}
    for i, attr in enumerate(spec.attributes):
        if attr.name in old and old[attr.name].type != attr.type:
            problems.append(
                {
                    "loc": ["body", "attributes", i, "type"],
                    "msg": f"{attr.name} is a {old[attr.name].type}; its type cannot change",
                }
            )
    if problems:
        raise ValidationFailed(
            f"CI type {name} cannot change this way", code="CI_TYPE_INCOMPATIBLE", details=problems
        )
    check_definition(spec, _parent(spec, repo))
    _check_references_to_types(spec, repo)
    updated = CiType(
        **spec.model_dump(),
        version=current.version + 1,
        created_at=current.created_at,
        updated_at=iso(clock.now()),
    )
    repo.put(updated, current.version)
    return updated


def get_type(name: str, *, repo: CiTypeRepository) -> CiTypeView:
    chain = type_chain(name, repo)
    return CiTypeView(**chain[0].model_dump(), resolved=resolve(chain))


def list_types(
    *, repo: CiTypeRepository, limit: int = DEFAULT_LIMIT, next_token: str | None = None
) -> Page[CiType]:
    """The built-in types first (on the first page, whatever the limit), then user types."""
    page = repo.list(limit=limit, next_token=next_token)
    if next_token:
        return page
    return Page(list(builtin.builtin_types().values()) + page.items, page.next_token)


# ---- CIs ------------------------------------------------------------------------------------


def _ci_not_found(ci_id: str) -> NotFound:
    return NotFound(f"CI {ci_id} does not exist", code="CI_NOT_FOUND")


@dataclass(frozen=True)
class Context:
    """Who and why, for the history record."""

    actor: str
    request_id: str | None
    source: str = "api"
    reason: str | None = None


def get_ci_with_head(ci_id: str, repo: CiRepository) -> tuple[Ci, str]:
    found = repo.get(ci_id) if is_id(ci_id, domain.ID_PREFIX) else None
    if found is None:
        raise _ci_not_found(ci_id)
    ci, head = found
    return ci, str(head)


def get_ci(ci_id: str, *, repo: CiRepository) -> Ci:
    return get_ci_with_head(ci_id, repo)[0]


def _check_references(refs: dict[str, tuple[str, str | None]], repo: CiRepository) -> None:
    if not refs:
        return
    found = repo.get_many([ci_id for ci_id, _ in refs.values()])
    problems = []
    for attr, (ci_id, required) in refs.items():
        ci = found.get(ci_id)
        if ci is None:
            problems.append({"loc": ["body", "attributes", attr], "msg": f"no CI {ci_id}"})
        elif required and ci.type != required:
            problems.append(
                {
                    "loc": ["body", "attributes", attr],
                    "msg": f"{ci_id} is a {ci.type}, not a {required}",
                }
            )
    if problems:
        raise ValidationFailed("a reference names no suitable CI", details=problems)


def _natural_key(ci_type: ResolvedType, name: str, attributes: dict[str, Any]) -> str:
    key = natural_key_of(ci_type, name, attributes)
    if key is None:
        loc = ["body", "attributes", ci_type.natural_key]
        raise ValidationFailed(
            f"{ci_type.name} CIs are keyed by {ci_type.natural_key}, which is missing",
            details=[{"loc": loc, "msg": "required (the natural key)", "type": "missing"}],
        )
    return key


def _record(
    before: Ci | None, after: Ci, change: Change, ctx: Context, prev_hash: str
) -> HistoryRecord:
    b = before.model_dump(mode="json") if before else None
    a = after.model_dump(mode="json")
    return seal(
        HistoryRecord(
            ci_id=after.id,
            version=after.version,
            change=change,
            at=after.updated_at,
            actor=ctx.actor,
            request_id=ctx.request_id,
            source=ctx.source,
            reason=ctx.reason,
            before=b,
            after=a,
            diff=domain.diff(b, a),
            prev_hash=prev_hash,
        )
    )


def create_ci(
    body: CreateCi,
    ctx: Context,
    *,
    types: TypeCache,
    repo: CiRepository,
    events: EventPublisher,
    clock: Clock,
) -> Ci:
    ci, record, ci_type = new_ci(body, ctx, types=types, repo=repo, clock=clock)
    repo.write(ci, None, record, ci_type)
    events.publish([domain.event("CiCreated", ci, ctx.actor)])
    return ci


def new_ci(
    body: CreateCi, ctx: Context, *, types: TypeCache, repo: CiRepository, clock: Clock
) -> tuple[Ci, HistoryRecord, ResolvedType]:
    """A checked new CI and its first history record, not yet written (`create_ci` writes one;
    imports write many in one transaction)."""
    ci_type = types.for_ci(body.type, ["body", "type"])
    checked = check_attributes(ci_type, {}, body.attributes, creating=True)
    _check_references(checked.references, repo)
    stamp = iso(clock.now())
    ci = Ci(
        id=new_id(domain.ID_PREFIX),
        type=body.type,
        name=body.name,
        attributes=checked.attributes,
        status=CiStatus.ACTIVE,
        version=1,
        sources=[ctx.source],
        created_at=stamp,
        updated_at=stamp,
        natural_key=_natural_key(ci_type, body.name, checked.attributes),
        attribute_sources=dict.fromkeys(checked.attributes, ctx.source),
    )
    return ci, _record(None, ci, "created", ctx, GENESIS), ci_type


def _changed(
    current: Ci,
    ci_type: ResolvedType,
    name: str | None,
    attributes: dict[str, Any],
    ctx: Context,
    now: str,
    repo: CiRepository,
    *,
    restore: bool = False,
    types: TypeCache | None = None,
) -> Ci | None:
    """The next version of a CI, or None when the change changes nothing. An attribute set
    by a higher-priority source keeps its value; the losing value is recorded in `conflicts`
    (omp.domain.cmdb.sources)."""
    merged = merge(
        current.attributes,
        current.attribute_sources,
        current.sources,
        current.conflicts,
        _normalised(ci_type, attributes),
        ctx.source,
        priority=types.priority() if types else SourcePriority(),
        types=[ci_type.name, *ci_type.ancestors],
        at=now,
    )
    checked = check_attributes(ci_type, current.attributes, merged.changes, creating=False)
    _check_references(checked.references, repo)
    new_name = name or current.name
    status = CiStatus.ACTIVE if restore else current.status
    owners = {k: v for k, v in merged.sources.items() if k in checked.attributes}
    if (new_name, checked.attributes, status, merged.conflicts) == (
        current.name,
        current.attributes,
        current.status,
        current.conflicts,
    ):
        return None
    for attribute in checked.attributes:  # CIs from before per-attribute sources: fill in
        if attribute not in owners:
            holder = holder_of(attribute, current.attribute_sources, current.sources)
            owners[attribute] = holder or ctx.source
    sources = current.sources if ctx.source in current.sources else [*current.sources, ctx.source]
    return current.model_copy(
        update={
            "name": new_name,
            "attributes": checked.attributes,
            "status": status,
            "version": current.version + 1,
            "sources": sources,
            "updated_at": now,
            "natural_key": _natural_key(ci_type, new_name, checked.attributes),
            "attribute_sources": owners,
            "conflicts": merged.conflicts,
        }
    )


def _normalised(ci_type: ResolvedType, attributes: dict[str, Any]) -> dict[str, Any]:
    """Values in their stored form, so a value equal to the stored one compares equal (bad
    values are left for check_attributes to report)."""
    from omp.domain.cmdb.types import coerce

    out = {}
    for name, value in attributes.items():
        attr = ci_type.attribute(name)
        try:
            out[name] = coerce(attr, value) if attr is not None and value is not None else value
        except ValueError:
            out[name] = value
    return out


def update_ci(
    ci_id: str,
    body: UpdateCi,
    ctx: Context,
    *,
    types: TypeCache,
    repo: CiRepository,
    events: EventPublisher,
    clock: Clock,
) -> Ci:
    current, head = get_ci_with_head(ci_id, repo)
    if current.version != body.version:
        raise Conflict(
            f"CI {ci_id} is at version {current.version}, not {body.version}",
            code="VERSION_CONFLICT",
            details={"version": current.version},
        )
    if current.status is CiStatus.RETIRED:
        raise Conflict(f"CI {ci_id} is retired", code="CI_RETIRED")
    ci_type = types.get(current.type)
    after = _changed(
        current, ci_type, body.name, body.attributes, ctx, iso(clock.now()), repo, types=types
    )
    if after is None:
        return current
    repo.write(after, current, _record(current, after, "updated", ctx, head), ci_type)
    events.publish(
        [
            domain.event(
                "CiChanged",
                after,
                ctx.actor,
                diff=domain.diff(current.model_dump(mode="json"), after.model_dump(mode="json")),
            )
        ]
    )
    return after


def retire_ci(
    ci_id: str,
    ctx: Context,
    *,
    expected_version: int | None,
    types: TypeCache,
    repo: CiRepository,
    events: EventPublisher,
    clock: Clock,
) -> Ci:
    """Mark retired (never erased: the history stays verifiable). Retiring twice is a no-op."""
    current, head = get_ci_with_head(ci_id, repo)
    if expected_version is not None and current.version != expected_version:
        raise Conflict(
            f"CI {ci_id} is at version {current.version}, not {expected_version}",
            code="VERSION_CONFLICT",
            details={"version": current.version},
        )
    if current.status is CiStatus.RETIRED:
        return current
    after = current.model_copy(
        update={
            "status": CiStatus.RETIRED,
            "version": current.version + 1,
            "updated_at": iso(clock.now()),
        }
    )
    ci_type = types.get(current.type)
    repo.write(after, current, _record(current, after, "retired", ctx, head), ci_type)
    events.publish([domain.event("CiRetired", after, ctx.actor)])
    return after


def list_cis(
    *,
    repo: CiRepository,
    types: TypeCache,
    type_name: str | None,
    status: str | None,
    attribute: str | None,
    value: str | None,
    limit: int,
    next_token: str | None,
) -> Page[Ci]:
    if attribute is None:
        return repo.list(type_name, status, limit, next_token)
    if type_name is None or value is None:
        raise ValidationFailed(
            "filtering by an attribute needs `type`, `attribute` and `value`",
            details=[
                {"loc": ["query", "type" if type_name is None else "value"], "msg": "required"}
            ],
        )
    ci_type = types.for_ci(type_name, ["query", "type"])
    attr = ci_type.attribute(attribute)
    if attr is None or not attr.indexed:
        raise ValidationFailed(
            f"{attribute} is not an indexed attribute of {type_name}",
            code="ATTRIBUTE_NOT_INDEXED",
            details=[{"loc": ["query", "attribute"], "msg": "not indexed"}],
        )
    try:
        from omp.domain.cmdb.types import coerce

        parsed: Any = value
        if attr.type == "int":
            parsed = int(value)
        elif attr.type == "float":
            parsed = float(value)
        elif attr.type == "bool":
            parsed = {"true": True, "false": False}[value]
        typed = coerce(attr, parsed)
    except (ValueError, KeyError) as exc:
        raise ValidationFailed(
            f"{value!r} is not a valid {attr.type}",
            details=[{"loc": ["query", "value"], "msg": str(exc)}],
        ) from exc
    page = repo.find_by_attribute(type_name, attribute, typed, limit, next_token)
    if status:
        page = Page([c for c in page.items if c.status.value == status], page.next_token)
    return page


def _error(exc: DomainError) -> dict[str, Any]:
    return {"code": exc.code, "message": exc.message, "details": exc.details}


def batch_upsert(
    body: BatchUpsert,
    ctx: Context,
    *,
    types: TypeCache,
    repo: CiRepository,
    events: EventPublisher,
    clock: Clock,
) -> list[UpsertResult]:
    """Create or merge each item, matched on type + natural key; an unchanged item writes
    nothing (a re-run adds no versions). Each item stands alone: one failing does not stop
    the others. A retired CI that is upserted again is restored."""
    results: list[UpsertResult] = []
    for index, item in enumerate(body.items):
        loc = ["body", "items", index]
        try:
            results.append(_upsert_one(index, item, loc, ctx, types, repo, events, clock))
        except DomainError as exc:
            if isinstance(exc, ValidationFailed) and isinstance(exc.details, list):
                exc.details = [
                    {**d, "loc": [*loc, *d.get("loc", [])[1:]]} if isinstance(d, dict) else d
                    for d in exc.details
                ]
            results.append(UpsertResult(index=index, outcome="failed", error=_error(exc)))
    return results


def _upsert_one(
    index: int,
    item: Any,
    loc: list[Any],
    ctx: Context,
    types: TypeCache,
    repo: CiRepository,
    events: EventPublisher,
    clock: Clock,
) -> UpsertResult:
    ci_type = types.for_ci(item.type, [*loc, "type"])
    for attempt in range(2):  # one retry when another writer got there first
        probe = check_attributes(ci_type, {}, item.attributes, creating=True)
        key = _natural_key(ci_type, item.name, probe.attributes)
        found = repo.find_by_key(item.type, key)
        try:
            if found is None:
                ci = create_ci(
                    CreateCi(
                        type=item.type,
                        name=item.name,
                        attributes=item.attributes,
                        source=ctx.source,
                        reason=ctx.reason,
                    ),
                    ctx,
                    types=types,
                    repo=repo,
                    events=events,
                    clock=clock,
                )
                return UpsertResult(index=index, outcome="created", ci_id=ci.id, version=1)
            head = get_ci_with_head(found.id, repo)[1]
            restore = found.status is CiStatus.RETIRED
            after = _changed(
                found,
                ci_type,
                item.name,
                item.attributes,
                ctx,
                iso(clock.now()),
                repo,
                restore=restore,
                types=types,
            )
            if after is None:
                return UpsertResult(
                    index=index, outcome="unchanged", ci_id=found.id, version=found.version
                )
            change: Change = "restored" if restore else "updated"
            repo.write(after, found, _record(found, after, change, ctx, head), ci_type)
            events.publish(
                [
                    domain.event(
                        "CiChanged",
                        after,
                        ctx.actor,
                        diff=domain.diff(
                            found.model_dump(mode="json"), after.model_dump(mode="json")
                        ),
                    )
                ]
            )
            return UpsertResult(
                index=index, outcome="updated", ci_id=after.id, version=after.version
            )
        except Conflict as exc:
            if attempt or exc.code not in ("VERSION_CONFLICT", "CI_EXISTS"):
                raise
    raise AssertionError("unreachable")  # pragma: no cover


# ---- history --------------------------------------------------------------------------------


def history(
    ci_id: str, *, repo: CiRepository, limit: int, next_token: str | None
) -> Page[dict[str, Any]]:
    get_ci_with_head(ci_id, repo)
    return repo.history(ci_id, limit, next_token)


def verify_history(ci_id: str, *, repo: CiRepository) -> VerifyResult:
    """The chain checked link by link, then against the CI itself: its version and head hash
    must be the newest record's (a deleted newest record leaves the chain intact but short)."""
    current, head = get_ci_with_head(ci_id, repo)
    result = verify(ci_id, repo.all_history(ci_id))
    if not result.valid:
        return result
    if result.versions != current.version or result.head_hash != head:
        from omp.domain.cmdb.history import BrokenLink

        missing = min(result.versions + 1, current.version)
        return result.model_copy(
            update={
                "valid": False,
                "first_broken": BrokenLink(
                    version=missing,
                    reason=f"the CI is at version {current.version} with another head hash "
                    f"than the chain's newest record ({result.versions})",
                ),
            }
        )
    return result


# ---- full-text search -----------------------------------------------------------------------

SEARCH_INDEX = "cis"


def document(ci: Ci) -> tuple[str, dict[str, str]]:
    """What a CI is found by: its name, type, natural key and attribute values; filtered by
    type and status."""
    values = [str(v) for v in ci.attributes.values() if not isinstance(v, bool)]
    text = " ".join([ci.name, ci.type, ci.natural_key, *values])
    return text, {"type": ci.type, "status": ci.status.value}


def index_ci(ci_id: str, *, repo: CiRepository, search: SearchIndex) -> bool:
    """(Re)index the stored CI (the event that asked may be older); False if it is gone."""
    found = repo.get(ci_id)
    if found is None:
        search.delete(SEARCH_INDEX, ci_id)
        return False
    text, filters = document(found[0])
    search.put(SEARCH_INDEX, ci_id, text, filters)
    return True


def search_cis(
    text: str,
    *,
    type_name: str | None,
    status: str | None,
    limit: int,
    repo: CiRepository,
    search: SearchIndex,
) -> list[Ci]:
    filters = {k: v for k, v in (("type", type_name), ("status", status)) if v}
    hits = search.search(SEARCH_INDEX, text, filters, limit)
    found = repo.get_many([doc_id for doc_id, _ in hits])
    # the stored CI decides (the index may lag, and a filter phrase can over-match)
    return [
        ci
        for ci in (found.get(doc_id) for doc_id, _ in hits)
        if ci is not None
        and (type_name is None or ci.type == type_name)
        and (status is None or ci.status.value == status)
    ]


# ---- alarm resources ------------------------------------------------------------------------


def resolve_resource(resource: str, *, repo: CiRepository) -> Ci:
    """The CI an alarm's resource (an ARN, an AWS resource id, a service or application name)
    names; CI_NOT_FOUND when none does."""
    from omp.domain.cmdb.resources import lookups

    for lookup in lookups(resource):
        if lookup.attribute is None:
            found: Ci | None = repo.find_by_key(lookup.type, resource.strip())
        else:
            holder = repo.holder(lookup.type, lookup.attribute, resource.strip())
            found = get_ci_with_head(holder, repo)[0] if holder else None
        if found is not None:
            return found
    raise NotFound(f"no CI for the resource {resource!r}", code="CI_NOT_FOUND")
