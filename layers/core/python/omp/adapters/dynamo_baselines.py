"""Baselines, detector state and detector settings in the `metrics` table.

Items (keys `pk`/`sk`; see docs/baselines-and-anomalies.md, "In the platform")
- a series' fitted baseline: pk `B#<series id>`, sk `BASELINE`: `model` (zlib-compressed JSON of
  `Baseline.one(i)`), `step_s`, `fitted_through`, `fitted_at`, `version` (+1 per refit).
- a series' detector state: pk `B#<series id>`, sk `STATE`: `detector` (zlib-compressed JSON of
  `SeriesDetector.to_dict()`; its rarity windows are mostly zeros and compress well), the
  bookkeeping of `omp.domain.anomaly.DetectorState`, `version` (conditional writes).
  While an anomaly alarm is open: gsi2pk `ANOMALY#OPEN`, gsi2sk `<scored_at, 12 digits>`, a
  sparse index of the open alarms, oldest write first (the silence sweep's query; the keys go
  with the alarm, so the index only ever holds the open ones).
- the detector settings: pk `DETECTORS`, sk `CONFIG`: `config` (JSON), `version`.
- the refit's place in a pass over the series: pk `REFIT`, sk `CURSOR`: `next_token`.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from decimal import Decimal
from typing import Any

from omp.adapters.dynamo import ConditionFailed, batch_get, call, from_item, to_item
from omp.adapters.dynamo_documents import VersionedDocument
from omp.domain.anomaly import DetectorState, StoredBaseline
from omp.domain.errors import Conflict
from omp.domain.pagination import Page, decode_token, encode_token

CONFIG_KEY = {"pk": "DETECTORS", "sk": "CONFIG"}
CURSOR_KEY = {"pk": "REFIT", "sk": "CURSOR"}
_WORKERS = 8


def _pack(value: Any) -> bytes:
    return zlib.compress(json.dumps(value, separators=(",", ":")).encode(), 6)


def _unpack(value: Any) -> Any:
    raw = value.value if hasattr(value, "value") else value  # boto3 Binary
    return json.loads(zlib.decompress(bytes(raw)))


def _pk(series_id: str) -> str:
    return f"B#{series_id}"


def _baseline_of(values: dict[str, Any]) -> StoredBaseline:
    return StoredBaseline(
        series_id=values["pk"][2:],
        model=_unpack(values["model"]),
        step_s=float(values["step_s"]),
        fitted_through=int(values["fitted_through"]),
        fitted_at=int(values["fitted_at"]),
        version=int(values["version"]),
    )


def _state_of(values: dict[str, Any]) -> DetectorState:
    return DetectorState(
        series_id=values["pk"][2:],
        detector=_unpack(values["detector"]) if "detector" in values else None,
        baseline_version=int(values.get("baseline_version", 0)),
        anchor=int(values.get("anchor", 0)),
        step_s=float(values.get("step_s", 0)),
        grid_pos=int(values.get("grid_pos", 0)),
        last_ts=int(values["last_ts"]) if "last_ts" in values else None,
        alarm=json.loads(values["alarm"]) if "alarm" in values else None,
        in_band=int(values.get("in_band", 0)),
        version=int(values["version"]),
        scored_at=int(values.get("scored_at", 0)),
        seen=_unpack_seen(values["seen"]) if "seen" in values else [],
        seen_from=int(values["seen_from"]) if values.get("seen_from") is not None else None,
    )


def _pack_seen(seen: Sequence[int]) -> bytes:
    """Sorted timestamps as deltas (a regular series compresses to a few bytes)."""
    return _pack([b - a for a, b in zip([0, *seen[:-1]], seen, strict=True)])


def _unpack_seen(value: Any) -> list[int]:
    out, t = [], 0
    for d in _unpack(value):
        t += int(d)
        out.append(t)
    return out


OPEN_ALARMS = "ANOMALY#OPEN"  # gsi2pk of a state with an open alarm
# What the silence sweep reads of a state: everything but the detector itself (up to 23 KB).
_ALARM_FIELDS = "pk, sk, version, last_ts, scored_at, step_s, alarm, in_band"


def _open_key(scored_at: int) -> str:
    return f"{max(scored_at, 0):012d}"  # zero-padded: string order is time order


class DynamoBaselineStore:
    def __init__(self, table: str) -> None:
        self.table = table
        self._settings = VersionedDocument(table, CONFIG_KEY, "the detector settings")

    # ---- baselines -------------------------------------------------------------------------

    def put_baselines(self, baselines: Sequence[StoredBaseline]) -> None:
        """One UpdateItem per series (the version is bumped in place: no read needed), in
        parallel."""

        def one(b: StoredBaseline) -> None:
            call(
                "update_item",
                TableName=self.table,
                Key=to_item({"pk": _pk(b.series_id), "sk": "BASELINE"}),
                UpdateExpression="SET #m = :m, step_s = :s, fitted_through = :t, "
                "fitted_at = :a, n_points = :n ADD #v :one",
                ExpressionAttributeNames={"#m": "model", "#v": "version"},
                ExpressionAttributeValues=to_item(
                    {
                        ":m": _pack(b.model),
                        ":s": Decimal(repr(float(b.step_s))),
                        ":t": b.fitted_through,
                        ":a": b.fitted_at,
                        ":n": int(b.model.get("n_points", 0)),
                        ":one": 1,
                    }
                ),
            )

        if len(baselines) <= 1:
            for b in baselines:
                one(b)
            return
        with ThreadPoolExecutor(max_workers=min(_WORKERS, len(baselines))) as pool:
            list(pool.map(one, baselines))

    def get_baseline(self, series_id: str) -> StoredBaseline | None:
        item = call(
            "get_item",
            TableName=self.table,
            Key=to_item({"pk": _pk(series_id), "sk": "BASELINE"}),
        ).get("Item")
        return _baseline_of(from_item(item)) if item else None

    def get_fit_info(self, series_ids: Sequence[str]) -> dict[str, tuple[int, int]]:
        """{series id: (fitted_at, n_points)} of the series with a baseline (one BatchGetItem
        per 100 series, the small attributes only)."""
        keys = [to_item({"pk": _pk(sid), "sk": "BASELINE"}) for sid in dict.fromkeys(series_ids)]
        items = batch_get(self.table, keys, projection="pk, fitted_at, n_points")
        return {
            values["pk"][2:]: (int(values.get("fitted_at", 0)), int(values.get("n_points", 0)))
            for values in items
        }

    def get_models(
        self, series_ids: Sequence[str]
    ) -> dict[str, tuple[StoredBaseline | None, DetectorState | None]]:
        """The baseline and detector state of each series: one BatchGetItem per 50 series."""
        ids = list(dict.fromkeys(series_ids))
        found: dict[str, tuple[StoredBaseline | None, DetectorState | None]] = {
            sid: (None, None) for sid in ids
        }
        keys = [to_item({"pk": _pk(sid), "sk": sk}) for sid in ids for sk in ("BASELINE", "STATE")]
        for values in batch_get(self.table, keys, consistent=True):
            sid = values["pk"][2:]
            b, s = found[sid]
            if values["sk"] == "BASELINE":
                found[sid] = (_baseline_of(values), s)
            else:
                found[sid] = (b, _state_of(values))
        return found

    # ---- detector state ----------------------------------------------------------------------

    def put_state(self, state: DetectorState) -> int:
        """Write the state if it is still at `state.version` (0: none stored); the new version.
        `Conflict` when another scorer wrote it meanwhile."""
        item: dict[str, Any] = {
            "pk": _pk(state.series_id),
            "sk": "STATE",
            "baseline_version": state.baseline_version,
            "anchor": state.anchor,
            "step_s": Decimal(repr(float(state.step_s))),
            "grid_pos": state.grid_pos,
            "last_ts": state.last_ts,
            "in_band": state.in_band,
            "version": state.version + 1,
            "scored_at": state.scored_at,
        }
        if state.seen:
            item["seen"] = _pack_seen(state.seen)  # late points: omp.services.scoring
        if state.seen_from is not None:
            item["seen_from"] = state.seen_from
        if state.detector is not None:
            item["detector"] = _pack(state.detector)
        if state.alarm is not None:
            item["alarm"] = json.dumps(state.alarm)
            # the sparse index of open alarms (a state written without them leaves it)
            item["gsi2pk"] = OPEN_ALARMS
            item["gsi2sk"] = _open_key(state.scored_at or state.last_ts or 0)
        kwargs: dict[str, Any]
        if state.version == 0:
            kwargs = {"ConditionExpression": "attribute_not_exists(pk)"}
        else:
            kwargs = {
                "ConditionExpression": "#v = :v",
                "ExpressionAttributeNames": {"#v": "version"},
                "ExpressionAttributeValues": to_item({":v": state.version}),
            }
        try:
            call("put_item", TableName=self.table, Item=to_item(item), **kwargs)
        except ConditionFailed as failed:
            raise Conflict(
                f"the detector state of {state.series_id} changed", code="VERSION_CONFLICT"
            ) from failed
        return state.version + 1

    def open_alarms(
        self, scored_before: int, *, limit: int = 100, next_token: str | None = None
    ) -> Page[DetectorState]:
        """States with an open alarm last scored before `scored_before` (epoch s), oldest first,
        from the sparse index gsi2 (eventually consistent: confirm with `get_alarm_states`).
        The states come without `detector`: never write them back with `put_state`."""
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": "gsi2",
            "KeyConditionExpression": "gsi2pk = :p AND gsi2sk < :before",
            "ExpressionAttributeValues": to_item(
                {":p": OPEN_ALARMS, ":before": _open_key(scored_before)}
            ),
            "ProjectionExpression": _ALARM_FIELDS,
            "Limit": limit,
        }
        if next_token:
            kwargs["ExclusiveStartKey"] = decode_token(next_token, required_keys=("k",))["k"]
        page = call("query", **kwargs)
        start_key = page.get("LastEvaluatedKey")
        return Page(
            [_state_of(from_item(i)) for i in page.get("Items", [])],
            encode_token({"k": start_key}) if start_key else None,
        )

    def get_alarm_states(self, series_ids: Sequence[str]) -> dict[str, DetectorState]:
        """The current states (consistent reads, without `detector`) of the series that have
        one."""
        keys = [to_item({"pk": _pk(sid), "sk": "STATE"}) for sid in dict.fromkeys(series_ids)]
        items = batch_get(self.table, keys, consistent=True, projection=_ALARM_FIELDS)
        return {values["pk"][2:]: _state_of(values) for values in items}

    def clear_alarm(self, series_id: str, expected_version: int) -> int:
        """Close the state's open alarm (and take it out of the open-alarm index) if the state
        is still at `expected_version`, keeping everything else; the new version. `Conflict`
        when it moved (a scorer wrote it meanwhile) or is gone."""
        try:
            call(
                "update_item",
                TableName=self.table,
                Key=to_item({"pk": _pk(series_id), "sk": "STATE"}),
                UpdateExpression="SET #v = :next, in_band = :zero REMOVE alarm, gsi2pk, gsi2sk",
                ConditionExpression="#v = :v",
                ExpressionAttributeNames={"#v": "version"},
                ExpressionAttributeValues=to_item(
                    {":v": expected_version, ":next": expected_version + 1, ":zero": 0}
                ),
            )
        except ConditionFailed as failed:
            raise Conflict(
                f"the detector state of {series_id} changed", code="VERSION_CONFLICT"
            ) from failed
        return expected_version + 1

    # ---- settings ------------------------------------------------------------------------------

    def get_config(self) -> dict[str, Any] | None:
        """{config (dict), version, updated_at, updated_by} or None."""
        return self._settings.get()

    def put_config(
        self, config: dict[str, Any], expected_version: int, *, actor: str, now: datetime
    ) -> dict[str, Any]:
        """Conditional on `expected_version` (0: none stored); `Conflict` VERSION_CONFLICT."""
        return self._settings.put(config, expected_version, actor=actor, now=now)

    # ---- the refit's cursor ----------------------------------------------------------------------

    def get_refit_cursor(self) -> str | None:
        item = call("get_item", TableName=self.table, Key=to_item(CURSOR_KEY)).get("Item")
        return str(from_item(item).get("next_token") or "") or None if item else None

    def put_refit_cursor(self, next_token: str | None) -> None:
        call(
            "put_item",
            TableName=self.table,
            Item=to_item({**CURSOR_KEY, "next_token": next_token or None}),
        )
