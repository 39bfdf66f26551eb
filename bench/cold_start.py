"""Cold start: the import time of every catalog handler, each in a fresh Python process.

What Lambda does on a cold start before the first event is, besides starting the interpreter,
import the handler module. This benchmark does the same for every function in the catalog
(`infra.wiring.FUNCTIONS`) and for a bare aws-lambda-powertools hello-world handler
(`bench/baseline/hello.py`), side by side in the same run:

- a fresh `python` per measurement, cwd = the function's code folder (Lambda's /var/task) and
  PYTHONPATH = that folder + the core layer (`layers/core/python`); the third-party deps come from
  the interpreter's site-packages (the venv holds the deps layer's pinned requirements). The repo
  root is NOT on the path, as on Lambda;
- the function's catalog environment (`wiring.environment`) plus a region, as Lambda would set;
- the child times `importlib.import_module(<handler>)` with `time.perf_counter_ns`; interpreter
  start-up is common to all and is reported separately (process wall time);
- one untimed warm-up per target (writes the .pyc files), then RUNS rounds, interleaved so that
  drift on the machine affects every target alike; the median is reported. Within a round the
  baseline is measured again before every block of PAIR_BLOCK targets, and each sample's ratio
  is taken against that baseline sample: the verdict is the median of a target's paired ratios
  (a long run's drift cancels out of them; the ratio of the medians is reported beside it);
- the same again with bytecode ignored outside the stdlib ("no .pyc"): as deployed, no .pyc
  ships (asset excludes, pip --no-compile) and /opt, /var/task are read-only, so Lambda compiles
  every handler, core and deps module on each cold start. Informational; the target is judged on
  the figure with bytecode;
- then `python -X importtime` (IMPORTTIME_RUNS runs each, median per entry) attributes the time:
  the handler's direct imports (cumulative) and the third-party/first-party packages (self time)
  that the baseline does not pay for.

The project's pydantic models are built on first use (`omp.domain.model.Model`), so each run
also times the import plus building the HTTP route's body, query and response models, which
the first request needs (for a function without a route that loads pydantic: one small model,
which pays pydantic's one-time set-up), plus the computation libraries a handler imports in its
first call (`FIRST_CALL_IMPORTS`: numpy, protobuf); a handler passes only if both are within the
target.
Further models a consumer or scheduled function builds in its first call are not counted:
about 1 ms each after the process's first.

Target: no handler above 1.5x the baseline's median import time.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import CORE, ROOT, median, report, table

RUNS = 11  # interleaved; 5 left the medians ~20% apart between runs on a shared 2-core VM
PAIR_BLOCK = 8  # targets measured after each baseline sample (their ratios pair with it)
IMPORTTIME_RUNS = 3
TARGET_RATIO = 1.5
BASELINE = "baseline/hello"
REFERENCE = "baseline/hello_validated"  # informational: hello-world with enable_validation=True

# After the timed import, the models an HTTP route's first request needs (its body, query and
# response models) are built and timed as well: the project's models are built on first use
# (omp.domain.model.Model, defer_build), so import time alone would leave their cost out. A
# function without a route that loaded pydantic builds one small model instead: the first
# model built in a process pays pydantic's one-time set-up, the bulk of a first call's cost.
_TIMED = (
    "import importlib, json, sys, time\n"
    "c0, t0 = time.process_time_ns(), time.perf_counter_ns()\n"
    "handler = importlib.import_module(sys.argv[1])\n"
    "t1, c1 = time.perf_counter_ns(), time.process_time_ns()\n"
    "route = getattr(handler, 'route', None)\n"
    "for name in ('body', 'query', 'response'):\n"
    "    model = getattr(route, name, None)\n"
    "    if isinstance(model, type) and hasattr(model, 'model_rebuild'):\n"
    "        model.model_rebuild()\n"
    "if route is None and 'pydantic' in sys.modules:\n"
    "    from pydantic import BaseModel\n"
    "    class FirstModel(BaseModel):\n"
    "        n: int = 0\n"
    "for name in filter(None, sys.argv[2].split(',')):\n"
    "    importlib.import_module(name)\n"
    "c2 = time.process_time_ns()\n"
    "print(json.dumps({'import_ns': t1 - t0, 'cpu_ns': c1 - c0, 'first_cpu_ns': c2 - c0,\n"
    "                  'modules': len(sys.modules)}))\n"
)

# Computation libraries a handler imports inside its first call rather than at load (every call
# of these needs them), charged to its "+ route models" figure. I/O clients (boto3, gremlin,
# opensearch) are left out for every handler and for the baseline alike: the container creates
# them on first use, as a hello-world that called AWS would.
FIRST_CALL_IMPORTS: dict[str, tuple[str, ...]] = {
    "ingest-otlp-metrics": (  # protobuf bodies (JSON bodies need json_format too)
        "google.protobuf.json_format",
        "opentelemetry.proto.collector.metrics.v1.metrics_service_pb2",
    ),
}

# As deployed, no .pyc ships: the CDK assets exclude __pycache__/*.pyc and the deps layer is
# installed with --no-compile, and /opt and /var/task are read-only, so every cold start compiles
# the function, core-layer and deps-layer sources (the runtime's stdlib has its bytecode). This
# variant ignores (and never writes) bytecode for everything outside the stdlib.
_NO_BYTECODE = (
    "import _frozen_importlib_external as _fe, sysconfig as _sc\n"
    "_stdlib = _sc.get_paths()['stdlib']\n"
    "_orig = _fe.cache_from_source\n"
    "def _cfs(path, debug_override=None, *, optimization=None):\n"
    "    if not path.startswith(_stdlib):\n"
    "        raise NotImplementedError\n"
    "    return _orig(path, debug_override, optimization=optimization)\n"
    "_fe.cache_from_source = _cfs\n"
)


@dataclass(frozen=True)
class Target:
    name: str  # catalog function name, or "baseline/hello"
    handler: str  # functions/<handler>.py
    folder: Path
    module: str
    env: dict[str, str]


def _base_env() -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.update(
        {
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "LANG": env.get("LANG", "C.UTF-8"),
        }
    )
    return env


def targets() -> list[Target]:
    from infra import wiring

    def resolve(kind: str, name: str) -> str:
        return "" if kind == "cognito" else f"omp-bench-{name}"

    out = [
        Target(
            name=BASELINE,
            handler="bench/baseline/hello",
            folder=ROOT / "bench" / "baseline",
            module="hello",
            env={**_base_env(), "POWERTOOLS_SERVICE_NAME": "hello"},
        ),
        Target(
            name=REFERENCE,
            handler="bench/baseline/hello_validated",
            folder=ROOT / "bench" / "baseline",
            module="hello_validated",
            env={**_base_env(), "POWERTOOLS_SERVICE_NAME": "hello"},
        ),
    ]
    for fn in wiring.FUNCTIONS:
        service_dir, module = fn.handler.rsplit("/", 1)
        out.append(
            Target(
                name=fn.name,
                handler=f"functions/{fn.handler}",
                folder=ROOT / "functions" / service_dir,
                module=module,
                env={**_base_env(), **wiring.environment(fn, resolve, "bench")},
            )
        )
    return out


def _env_for(target: Target) -> dict[str, str]:
    return {**target.env, "PYTHONPATH": os.pathsep.join([str(target.folder), str(CORE)])}


def measure_once(target: Target, bytecode: bool = True) -> dict[str, float]:
    code = _TIMED if bytecode else _NO_BYTECODE + _TIMED
    start = time.perf_counter_ns()
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            target.module,
            ",".join(FIRST_CALL_IMPORTS.get(target.name, ())),
        ],
        cwd=target.folder,
        env=_env_for(target),
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter_ns() - start
    if proc.returncode != 0:
        raise RuntimeError(f"importing {target.handler} failed:\n{proc.stderr}")
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    return {
        "import_ms": got["import_ns"] / 1e6,
        "cpu_ms": got["cpu_ns"] / 1e6,
        "first_cpu_ms": got["first_cpu_ns"] / 1e6,
        "process_ms": wall / 1e6,
        "modules": got["modules"],
    }


_LINE = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)\s*$")


def importtime_once(target: Target) -> list[tuple[str, int, int, int]]:
    """(module, depth, self µs, cumulative µs) for every module the import loads."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {target.module}"],
        cwd=target.folder,
        env=_env_for(target),
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"importing {target.handler} failed:\n{proc.stderr}")
    rows = []
    for line in proc.stderr.splitlines():
        m = _LINE.match(line)
        if m:
            depth = (len(m.group(3)) - 1) // 2
            rows.append((m.group(4), depth, int(m.group(1)), int(m.group(2))))
    return rows


def _top(module: str) -> str:
    return module.split(".", 1)[0]


def import_chain(rows: list[tuple[str, int, int, int]], module: str) -> list[str]:
    """Who first imported `module`: the chain from the top-level import down to it.

    -X importtime logs a module after its children, so a row's importer is the next row logged
    one level up.
    """
    index = next((i for i, r in enumerate(rows) if r[0] == module), None)
    if index is None:
        return []
    chain, depth = [module], rows[index][1]
    for name, d, _s, _c in rows[index + 1 :]:
        if d == depth - 1:
            chain.append(name)
            depth = d
            if d == 0:
                break
    return list(reversed(chain))


def attribute(target: Target, runs: int) -> dict[str, Any]:
    """Median -X importtime figures: self time per package, the handler's direct imports."""
    per_package: dict[str, list[int]] = defaultdict(list)
    direct: dict[str, list[int]] = defaultdict(list)
    modules: dict[str, list[int]] = defaultdict(list)
    totals = []
    for _ in range(runs):
        rows = importtime_once(target)
        pkg_sum: dict[str, int] = defaultdict(int)
        for module, _depth, self_us, _cum in rows:
            pkg_sum[_top(module)] += self_us
            modules[module].append(self_us)
        for pkg, us in pkg_sum.items():
            per_package[pkg].append(us)
        # The handler module is the last depth-0 line; its direct imports are the depth-1 lines
        # logged after the previous depth-0 line.
        last_root = max(i for i, r in enumerate(rows) if r[1] == 0)
        prev_root = max([i for i, r in enumerate(rows[:last_root]) if r[1] == 0], default=-1)
        for module, depth, _self, cum in rows[prev_root + 1 : last_root]:
            if depth == 1:
                direct[module].append(cum)
        totals.append(rows[last_root][3])
        chain = import_chain(rows[prev_root + 1 : last_root + 1], "pydantic")
    return {
        "pydantic_imported_via": chain,
        "handler_cumulative_ms": median(totals) / 1000,
        "packages_self_ms": {k: median(v) / 1000 for k, v in per_package.items()},
        "direct_imports_cumulative_ms": {k: median(v) / 1000 for k, v in direct.items()},
        "modules_self_ms": {k: median(v) / 1000 for k, v in modules.items()},
    }


def run(
    runs: int = RUNS, importtime_runs: int = IMPORTTIME_RUNS, only: tuple[str, ...] = ()
) -> dict[str, Any]:
    load_before = os.getloadavg()
    all_targets = [
        t
        for t in targets()
        if not only
        or t.name in (BASELINE, REFERENCE)
        or any(fnmatch.fnmatch(t.name, p) for p in only)
    ]
    for t in all_targets:  # warm-up: compile .pyc once so every timed run reads bytecode
        measure_once(t)
    samples: dict[str, list[dict[str, float]]] = {t.name: [] for t in all_targets}
    no_bc: dict[str, list[dict[str, float]]] = {t.name: [] for t in all_targets}
    # Each sample's ratio is taken against the baseline measured just before its block of
    # targets (paired): drift on the machine over a long run cancels out of the ratio, and
    # the baseline gets a sample per block instead of one per round.
    paired: dict[str, list[tuple[float, float]]] = {t.name: [] for t in all_targets}
    base_target = next(t for t in all_targets if t.name == BASELINE)
    others = [t for t in all_targets if t.name != BASELINE]
    for _ in range(runs):
        for i in range(0, len(others), PAIR_BLOCK):
            base = measure_once(base_target)
            samples[BASELINE].append(base)
            no_bc[BASELINE].append(measure_once(base_target, bytecode=False))
            paired[BASELINE].append((1.0, 1.0))
            for t in others[i : i + PAIR_BLOCK]:
                got = measure_once(t)
                samples[t.name].append(got)
                no_bc[t.name].append(measure_once(t, bytecode=False))
                paired[t.name].append(
                    (got["cpu_ms"] / base["cpu_ms"], got["first_cpu_ms"] / base["first_cpu_ms"])
                )
    base_nobc = median(s["cpu_ms"] for s in no_bc[BASELINE])
    base_ms = median(s["import_ms"] for s in samples[BASELINE])
    base_cpu = median(s["cpu_ms"] for s in samples[BASELINE])
    base_first = median(s["first_cpu_ms"] for s in samples[BASELINE])
    results = []
    for t in all_targets:
        ms = median(s["import_ms"] for s in samples[t.name])
        cpu = median(s["cpu_ms"] for s in samples[t.name])
        first = median(s["first_cpu_ms"] for s in samples[t.name])
        is_handler = t.name not in (BASELINE, REFERENCE)
        pair_cpu = median(p[0] for p in paired[t.name])
        pair_first = median(p[1] for p in paired[t.name])
        results.append(
            {
                "function": t.name,
                "handler": t.handler,
                "import_ms_median": round(ms, 1),
                "import_ms_runs": [round(s["import_ms"], 1) for s in samples[t.name]],
                "import_cpu_ms_median": round(cpu, 1),
                "process_ms_median": round(median(s["process_ms"] for s in samples[t.name]), 1),
                "no_bytecode_import_cpu_ms_median": round(
                    median(s["cpu_ms"] for s in no_bc[t.name]), 1
                ),
                "no_bytecode_ratio_to_baseline": round(
                    median(s["cpu_ms"] for s in no_bc[t.name]) / base_nobc, 2
                ),
                "modules_loaded": int(samples[t.name][0]["modules"]),
                "ratio_to_baseline": round(ms / base_ms, 2),
                "cpu_ratio_to_baseline": round(cpu / base_cpu, 2),
                "with_route_models_cpu_ms_median": round(first, 1),
                "with_route_models_ratio_to_baseline": round(first / base_first, 2),
                # The verdict's figures: the median of the per-sample ratios to the baseline
                # measured just before (the ratios of medians above are informational).
                "paired_cpu_ratio": round(pair_cpu, 2),
                "paired_with_route_models_ratio": round(pair_first, 2),
                # Judged on CPU time: on a shared machine, wall time also counts the time the
                # process waited for a core, which is noise here (both are reported). Both the
                # import and the import plus the route's models must be within the target.
                "meets_target": (max(pair_cpu, pair_first) <= TARGET_RATIO) if is_handler else None,
            }
        )

    # Where the time goes: -X importtime for the baseline and every handler.
    attributions = {t.name: attribute(t, importtime_runs) for t in all_targets}
    base_attr = attributions[BASELINE]
    for row in results:
        if row["function"] in (BASELINE, REFERENCE):
            continue
        attr = attributions[str(row["function"])]
        extra_pkgs = {
            pkg: round(ms - base_attr["packages_self_ms"].get(pkg, 0.0), 1)
            for pkg, ms in attr["packages_self_ms"].items()
        }
        new_modules = {
            m: ms
            for m, ms in attr["modules_self_ms"].items()
            if m not in base_attr["modules_self_ms"]
        }
        row["importtime"] = {
            "handler_cumulative_ms": round(attr["handler_cumulative_ms"], 1),
            "direct_imports_cumulative_ms": {
                k: round(v, 1)
                for k, v in sorted(
                    attr["direct_imports_cumulative_ms"].items(), key=lambda kv: -kv[1]
                )
            },
            "packages_self_ms_over_baseline": {
                k: v for k, v in sorted(extra_pkgs.items(), key=lambda kv: -kv[1]) if v >= 0.5
            },
            "pydantic_imported_via": " -> ".join(attr["pydantic_imported_via"]),
            "modules_not_in_baseline": len(new_modules),
            "modules_not_in_baseline_self_ms": round(sum(new_modules.values()), 1),
            "heaviest_modules_not_in_baseline_self_ms": {
                k: round(v, 1) for k, v in sorted(new_modules.items(), key=lambda kv: -kv[1])[:12]
            },
        }
    return {
        "method": {
            "runs": runs,
            "statistic": "median",
            "importtime_runs": importtime_runs,
            "no_bytecode": "bytecode ignored and not written outside the stdlib (as deployed)",
            "python": sys.executable,
            "pythonpath": "<function folder>:layers/core/python (+ site-packages for the deps)",
        },
        "baseline": {
            "handler": "bench/baseline/hello.py",
            "import_ms_median": round(base_ms, 1),
            "import_cpu_ms_median": round(base_cpu, 1),
            "importtime_cumulative_ms": round(base_attr["handler_cumulative_ms"], 1),
            "packages_self_ms": {
                k: round(v, 1)
                for k, v in sorted(base_attr["packages_self_ms"].items(), key=lambda kv: -kv[1])
                if v >= 0.5
            },
        },
        "load_average_1m": {
            "before": round(load_before[0], 2),
            "after": round(os.getloadavg()[0], 2),
        },
        "target": f"every handler <= {TARGET_RATIO}x the baseline (median CPU time of the import, "
        "and of the import plus the route's models)",
        "handlers": results,
        "over_target": [r["function"] for r in results if r["meets_target"] is False],
    }


def _verdict(row: dict[str, Any]) -> str:
    if row["function"] == BASELINE:
        return "baseline"
    if row["function"] == REFERENCE:
        return "reference"
    return "PASS" if row["meets_target"] else "FAIL"


def summary(result: dict[str, Any]) -> str:
    rows = [
        (
            r["function"],
            f"{r['import_cpu_ms_median']:.1f}",
            f"{r['paired_cpu_ratio']:.2f}x",
            f"{r['with_route_models_cpu_ms_median']:.1f}",
            f"{r['paired_with_route_models_ratio']:.2f}x",
            f"{r['cpu_ratio_to_baseline']:.2f}x / {r['with_route_models_ratio_to_baseline']:.2f}x",
            f"{r['import_ms_median']:.1f}",
            f"{r['ratio_to_baseline']:.2f}x",
            f"{r['process_ms_median']:.1f}",
            f"{r['no_bytecode_import_cpu_ms_median']:.0f}",
            f"{r['no_bytecode_ratio_to_baseline']:.2f}x",
            r["modules_loaded"],
            _verdict(r),
        )
        for r in result["handlers"]
    ]
    out = [
        f"### Cold start (median of {result['method']['runs']} fresh processes each)",
        "",
        "Verdict on CPU time: the import, and the import plus building the route's body, query "
        "and response models (what the first request needs; models are built on first use); "
        f"each as the median of its samples' ratios to the baseline sample taken just before "
        f"its block of {PAIR_BLOCK} targets; "
        f"1-minute load average {result['load_average_1m']['before']} "
        f"before, {result['load_average_1m']['after']} after.",
        "",
        table(
            [
                "function",
                "import CPU ms",
                "CPU vs baseline (paired)",
                "+ route models CPU ms",
                "+ route models vs baseline (paired)",
                "ratios of medians (info)",
                "import wall ms",
                "wall vs baseline",
                "process wall ms",
                "no .pyc: import CPU ms",
                "no .pyc vs baseline",
                "modules",
                f"<= {TARGET_RATIO}x",
            ],
            rows,
        ),
    ]
    over = [r for r in result["handlers"] if r["meets_target"] is False]
    if over:
        out += [
            "",
            f"Over target: {', '.join(r['function'] for r in over)}. "
            "Where the time goes (-X importtime, "
            f"median of {result['method']['importtime_runs']}):",
        ]
        for r in over:
            it = r["importtime"]
            direct = ", ".join(
                f"{k} {v} ms" for k, v in list(it["direct_imports_cumulative_ms"].items())[:5]
            )
            pkgs = ", ".join(
                f"{k} +{v} ms" for k, v in list(it["packages_self_ms_over_baseline"].items())[:6]
            )
            out.append(
                f"- {r['function']}: direct imports (cumulative) {direct}; "
                f"self time over baseline by package: {pkgs}; "
                f"pydantic first imported via {it['pydantic_imported_via'] or '-'}"
            )
    return "\n".join(out)


def main() -> int:
    """`python -m bench.cold_start [PATTERN ...]`: every catalog function, or only those whose
    names match a pattern (fnmatch); the baselines are always measured beside them."""
    started = time.perf_counter()
    result = run(only=tuple(sys.argv[1:]))
    return report("cold_start", result, summary(result), started)


if __name__ == "__main__":
    sys.exit(main())
