"""Grafana unified alerting webhook contact point.

Alertmanager-shaped (`alerts[]` with status, labels, annotations, startsAt, endsAt,
generatorURL, fingerprint) with Grafana's extras: `orgId`, `title`, `state`, `message` and per
alert `values`, `valueString`, `dashboardURL`, `panelURL`, `silenceURL`. One signal per alert;
fingerprint, status and severity as for Alertmanager. The per-alert links and values are kept
as annotations (`dashboard_url`, `panel_url`, `silence_url`, `value_string`, `value_<ref>`).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from omp.domain.signals import Signal, UnparseablePayload
from omp.sources._common import optional_dict, require_dict
from omp.sources.alertmanager import normalise_alerts, truncated_alerts

SOURCE = "grafana"

_EXTRA = (
    ("dashboardURL", "dashboard_url"),
    ("panelURL", "panel_url"),
    ("silenceURL", "silence_url"),
    ("valueString", "value_string"),
    ("imageURL", "image_url"),
)

__all__ = ["SOURCE", "normalise", "truncated_alerts"]


def normalise(payload: dict[str, Any]) -> list[Signal]:
    payload = require_dict(payload, "payload")
    signals = normalise_alerts(payload, source=SOURCE, extra_annotations=_EXTRA)
    alerts = payload["alerts"]  # validated as a non-empty list of objects above
    org = payload.get("orgId")
    result = []
    for index, (signal, alert) in enumerate(zip(signals, alerts, strict=True)):
        values = optional_dict(alert.get("values"), f"payload.alerts[{index}].values")
        annotations = dict(signal.annotations)
        for ref, value in values.items():
            if isinstance(value, dict | list):
                raise UnparseablePayload(f"payload.alerts[{index}].values.{ref} must be a number")
            annotations[f"value_{ref}"] = value if isinstance(value, str) else json.dumps(value)
        labels = dict(signal.labels)
        if isinstance(org, int | str) and not isinstance(org, bool):
            labels.setdefault("grafana_org_id", str(org))
        result.append(dataclasses.replace(signal, annotations=annotations, labels=labels))
    return result
