"""Shared helpers: paths, the machine description, result files and markdown tables."""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import statistics
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "layers" / "core" / "python"
RESULTS = Path(__file__).resolve().parent / "results"

# Make `infra`, `tests` and `omp` importable however the module was started.
for _p in (str(ROOT), str(CORE)):
    if _p not in sys.path:
        sys.path.insert(0, _p)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> dict[str, Any]:
    return {
        "os": f"{platform.system()} {platform.release()}",
        "arch": platform.machine(),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "python_executable": sys.executable,
    }


def now_iso() -> str:
    return _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def write_result(name: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    payload = {"benchmark": name, "date": now_iso(), "machine": machine(), **data}
    path.write_text(json.dumps(payload, indent=2, sort_keys=False) + "\n")
    return path


def median(values: Iterable[float]) -> float:
    return float(statistics.median(list(values)))


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    def cell(v: Any) -> str:
        return str(v).replace("|", "\\|")

    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def mib(n: int) -> str:
    return f"{n / 1_048_576:.2f} MiB"


def report(name: str, result: dict[str, Any], summary: str, started: float) -> int:
    """Record a benchmark's result (bench/results/<name>.json) and print its summary."""
    import time

    result["elapsed_s"] = round(time.perf_counter() - started, 1)
    path = write_result(name, result)
    print(summary)
    print(
        f"\n(results: {path.relative_to(ROOT)}; {result['elapsed_s']} s; {now_iso()}; "
        f"{machine()['cores']} cores, Python {machine()['python']})"
    )
    return 0
