"""Run a catalog function in-process: import its handler by path, call it in its environment."""

from __future__ import annotations

import collections
import importlib.util
import json
import logging
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from infra import wiring
from infra.local import names
from omp.runtime import env

log = logging.getLogger("omp.local")


class HandlerError(Exception):
    """The handler raised (or returned something Lambda could not serialise)."""

    def __init__(self, function: str, error_type: str, message: str, trace: list[str]) -> None:
        super().__init__(f"{function}: {error_type}: {message}")
        self.function = function
        self.error_type = error_type
        self.message = message
        self.trace = trace

    def payload(self) -> dict[str, Any]:
        """What Lambda returns for an unhandled error."""
        return {
            "errorMessage": self.message,
            "errorType": self.error_type,
            "stackTrace": self.trace,
        }


class LambdaContext:
    """The attributes and method of the Lambda Python context object that handlers use."""

    def __init__(self, fn: wiring.Function, request_id: str) -> None:
        physical = names.physical(fn.name)
        self.function_name = physical
        self.function_version = "$LATEST"
        self.invoked_function_arn = names.lambda_arn(fn.name)
        self.memory_limit_in_mb = fn.memory_mb
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{physical}"
        self.log_stream_name = f"local/[$LATEST]{request_id.replace('-', '')}"
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + fn.timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass(frozen=True)
class Invocation:
    function: str
    source: str
    request_id: str
    ok: bool
    duration_ms: float
    error: str | None = None


Listener = Callable[[Invocation], None]


class Invoker:
    def __init__(
        self,
        catalog: wiring.Catalog,
        environments: dict[str, dict[str, str]],
        functions_dir: Path,
    ) -> None:
        self.catalog = catalog
        self.functions_dir = functions_dir  # where `functions/<handler>.py` live
        self.environments = environments
        self.history: collections.deque[Invocation] = collections.deque(maxlen=2000)
        self._modules: dict[str, ModuleType] = {}
        self._lock = threading.RLock()
        self._listeners: list[Listener] = []

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def handler(self, fn: wiring.Function) -> Callable[[Any, Any], Any]:
        """Import `functions/<handler>.py` once, by file path, under a unique module name."""
        with self._lock:
            module = self._modules.get(fn.handler)
            if module is None:
                path = self.functions_dir / f"{fn.handler}.py"
                module = _load(path, "omp_local_fn_" + fn.handler.replace("/", "__"))
                self._modules[fn.handler] = module
        handler = getattr(module, "lambda_handler", None)
        if not callable(handler):
            raise AttributeError(f"{fn.handler}.py has no lambda_handler")
        return handler  # type: ignore[no-any-return]

    def invoke(self, name: str, event: Any, source: str = "invoke") -> Any:
        """Call the function with a JSON copy of `event`; its JSON result, or HandlerError."""
        fn = self.catalog.function(name)
        request_id = str(uuid.uuid4())
        started = time.perf_counter()
        error: HandlerError | None = None
        result: Any = None
        try:
            payload = json.loads(json.dumps(event))
            handler = self.handler(fn)
            with env.overlay(self.environments[name]):
                raw = handler(payload, LambdaContext(fn, request_id))
            try:
                result = json.loads(json.dumps(raw))
            except (TypeError, ValueError) as exc:
                raise HandlerError(name, "Runtime.MarshalError", str(exc), []) from exc
        except HandlerError as exc:
            error = exc
        except Exception as exc:
            trace = traceback.format_exception(exc)
            error = HandlerError(name, type(exc).__name__, str(exc), trace)
            if not (source == "authorizer" and str(exc) == "Unauthorized"):  # an answer, not a bug
                log.error("%s raised:\n%s", name, "".join(trace).rstrip())
        duration = (time.perf_counter() - started) * 1000
        record = Invocation(
            function=name,
            source=source,
            request_id=request_id,
            ok=error is None,
            duration_ms=round(duration, 1),
            error=None if error is None else f"{error.error_type}: {error.message}",
        )
        self.history.append(record)
        log.info(
            "invoke %s via %s %s %.1f ms",
            name,
            source,
            "ok" if error is None else "ERROR",
            duration,
        )
        for listener in list(self._listeners):
            listener(record)
        if error is not None:
            raise error
        return result


def _load(path: Path, module_name: str) -> ModuleType:
    if not path.is_file():
        raise FileNotFoundError(f"handler file {path} does not exist")
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # pydantic/dataclasses look their module up here
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return module
