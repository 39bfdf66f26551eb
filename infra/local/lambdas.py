"""Route moto's Lambda Invoke (Step Functions tasks, boto3 `lambda.invoke`) to in-process handlers.

moto runs in this process (ThreadedMotoServer), so replacing the simple Lambda backend's `invoke`
reaches every caller: the Step Functions interpreter invokes Lambda through boto3 against the moto
server, which lands here.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from moto.awslambda_simple.models import LambdaSimpleBackend

from infra.local.invoker import HandlerError

# physical function name -> callable(event) returning the JSON result (raises HandlerError)
Runner = Callable[[Any], Any]
_routes: dict[str, Runner] = {}
_lock = threading.Lock()
_original = LambdaSimpleBackend.invoke


def _invoke(
    self: LambdaSimpleBackend,
    function_name: str,
    qualifier: str | None,
    body: Any,
    headers: Any,
    response_headers: Any,
) -> str | bytes | None:
    fn = self.get_function(function_name, qualifier)
    runner = _routes.get(fn.function_name)
    if runner is None:
        return _original(self, function_name, qualifier, body, headers, response_headers)
    event = json.loads(body) if body else {}
    try:
        result = runner(event)
    except HandlerError as exc:
        response_headers["x-amz-function-error"] = "Unhandled"
        return json.dumps(exc.payload()).encode()
    return json.dumps(result).encode()


def install() -> None:
    with _lock:
        LambdaSimpleBackend.invoke = _invoke  # type: ignore[method-assign]


def register(physical_name: str, runner: Runner) -> None:
    with _lock:
        _routes[physical_name] = runner


def unregister(physical_name: str) -> None:
    with _lock:
        _routes.pop(physical_name, None)
