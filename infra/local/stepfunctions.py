"""Fixes for moto's Step Functions interpreter (the parser backend that executes ASL).

- moto 5.1 deep-copies the state machine, past executions included, on every StartExecution; an
  execution holds thread locks once it has run, so the second execution of any state machine
  fails with "cannot pickle '_thread.RLock' object". The clone now shares past executions.
- StartExecution without a `name` makes the ARN `...:execution:<machine>:None`, so every unnamed
  execution collides with the first one. AWS names them with a UUID; so does this fix.
"""

from __future__ import annotations

import uuid
from typing import Any

from moto.stepfunctions.parser.backend.execution import Execution
from moto.stepfunctions.parser.models import StepFunctionsParserBackend

_original_start = StepFunctionsParserBackend.start_execution


def _share(self: Execution, memo: dict[int, Any]) -> Execution:
    return self


def _start_execution(
    self: StepFunctionsParserBackend,
    state_machine_arn: str,
    name: str | None = None,
    execution_input: str | None = None,
    trace_header: str | None = None,
) -> Any:
    start: Any = _original_start
    return start(self, state_machine_arn, name or str(uuid.uuid4()), execution_input, trace_header)


def install() -> None:
    Execution.__deepcopy__ = _share  # type: ignore[attr-defined]
    StepFunctionsParserBackend.start_execution = _start_execution  # type: ignore[method-assign]
