"""DynamoDB items survive a restart of the local runtime: saved on a clean stop, loaded at start.

moto keeps everything in memory. Tables are the state an operator cares about (alarms, audit
log, API keys); queues in flight, executions and bus rules are rebuilt from the catalog instead.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from boto3.session import Session

log = logging.getLogger("omp.local")

FILE = "dynamodb.json"


def save(session: Session, tables: dict[str, str], data_dir: Path) -> int:
    """Write every item of every table (keyed by logical name); returns the item count."""
    ddb = session.client("dynamodb")
    dump: dict[str, list[dict[str, Any]]] = {}
    for logical, physical in tables.items():
        items: list[dict[str, Any]] = []
        for page in ddb.get_paginator("scan").paginate(TableName=physical):
            items.extend(page.get("Items", []))
        dump[logical] = items
    path = data_dir / FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(dump))
    tmp.replace(path)  # never leave a half-written snapshot behind
    return sum(len(items) for items in dump.values())


def restore(session: Session, tables: dict[str, str], data_dir: Path) -> int:
    """Load a snapshot written by `save`; tables no longer in the catalog are skipped."""
    path = data_dir / FILE
    if not path.is_file():
        return 0
    try:
        dump = json.loads(path.read_text())
    except ValueError:
        log.warning("ignoring unreadable snapshot %s", path)
        return 0
    ddb = session.client("dynamodb")
    count = 0
    for logical, items in dump.items():
        physical = tables.get(logical)
        if physical is None:
            continue
        for start in range(0, len(items), 25):
            requests: list[Any] = [{"PutRequest": {"Item": i}} for i in items[start : start + 25]]
            ddb.batch_write_item(RequestItems={physical: requests})
            count += len(requests)
    return count
