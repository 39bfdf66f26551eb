"""`python -m bench` (what `make bench` runs): every benchmark, each in its own process.

Writes bench/results/<name>.json, prints one markdown summary and exits non-zero if any benchmark
crashed. Targets that are missed are reported (FAIL rows), not turned into a non-zero exit:
these are measurements, not tests. `python -m bench cold_start aws_calls` runs a subset.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from bench.common import CORE, RESULTS, ROOT, machine, now_iso, table

BENCHMARKS = ("cold_start", "aws_calls", "asset_sizes", "domain_path", "dynamo_cost", "storm")
TIMEOUT_S = 600
# the storm pushes 10,000 alerts through the local runtime: about 20 to 50 minutes on 2 shared cores
TIMEOUTS = {"storm": 4200, "dynamo_cost": 1800}


def _targets(name: str) -> str:
    path = RESULTS / f"{name}.json"
    try:
        result = json.loads(path.read_text())
    except (OSError, ValueError):
        return "?"
    if name == "cold_start":
        over = result.get("over_target") or []
        return "all met" if not over else f"over 1.5x: {', '.join(over)}"
    if name == "aws_calls":
        over = result.get("over_target") or []
        return "all met" if not over else f"missed: {'; '.join(over)}"
    if name == "asset_sizes":
        return "all met" if result.get("all_targets_met") else "some function over 250 MB"
    if name == "domain_path":
        return "all met" if result.get("target_met") else "under 10,000 alerts/s"
    if name == "dynamo_cost":
        met = (result.get("repeat_target") or {}).get("met")
        return "a repeat: at most 1 write" if met else "a repeat costs more than 1 write"
    if name == "storm":
        return "all checks passed" if result.get("all_checks_passed") else "checks failed"
    return "?"


def main(argv: list[str]) -> int:
    chosen = argv or list(BENCHMARKS)
    unknown = [n for n in chosen if n not in BENCHMARKS]
    if unknown:
        print(
            f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}",
            file=sys.stderr,
        )
        return 2
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), str(CORE), *([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])]
    )
    m = machine()
    sections = []
    status_rows = []
    failed = []
    for name in chosen:
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        started = time.perf_counter()
        try:
            proc = subprocess.run(
                [sys.executable, "-m", f"bench.{name}"],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=TIMEOUTS.get(name, TIMEOUT_S),
                check=False,
            )
            rc, out, err = proc.returncode, proc.stdout, proc.stderr
        except subprocess.TimeoutExpired as exc:
            limit = TIMEOUTS.get(name, TIMEOUT_S)
            rc, out, err = -1, str(exc.stdout or ""), f"timed out after {limit} s"
        took = time.perf_counter() - started
        if err.strip():
            sys.stderr.write(err)
        if rc != 0:
            failed.append(name)
            sections.append(
                f"### {name}\n\nCRASHED (exit {rc}):\n\n```\n{err.strip()[-3000:]}\n```"
            )
            status_rows.append((name, f"crashed (exit {rc})", f"{took:.0f}", "-"))
        else:
            sections.append(out.strip())
            status_rows.append((name, "ok", f"{took:.0f}", _targets(name)))

    print(f"## om-platform benchmarks, {now_iso()}\n")
    print(
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['arch']}, {m['os']}; Python {m['python']}\n"
    )
    print(table(["benchmark", "status", "seconds", "targets"], status_rows))
    for section in sections:
        print("\n" + section)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
