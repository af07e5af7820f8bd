"""Waiting for a Google long-running operation, shared by the providers.

The loop and its failure lines are the same for every API; how to learn the operation's newer
state differs (`ml` v1 sleeps then GETs, Vertex blocks in `operations.wait`), so the caller
passes `refresh`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from deployer.providers.errors import OperationTimeout, from_operation_error

Json = dict[str, Any]


def raise_if_failed(operation: Json, what: str) -> Json:
    """The finished `operation`, or OperationFailed carrying the service's own message and
    code, mapped like a synchronous error (`errors.from_operation_error`)."""
    error = operation.get("error")
    if error:
        raise from_operation_error(error, what=what)
    return operation


def wait_done(
    operation: Json,
    what: str,
    timeout: float,
    refresh: Callable[[Json, float], Json],
    *,
    clock: Callable[[], float] = time.monotonic,
) -> Json:
    """Call `refresh(operation, seconds_left)` until the operation is done, then check it.

    `refresh` may block (sleep, or a server-side wait) but not past `seconds_left`. Past
    `timeout` the operation may still finish: the error says to run apply again.
    """
    deadline = clock() + timeout
    name = str(operation.get("name", ""))
    while not operation.get("done"):
        left = deadline - clock()
        if left <= 0:
            raise OperationTimeout(
                f"{what}: still running after {timeout:g} s (operation {name}); "
                "it may yet finish: run apply again to pick it up"
            )
        operation = refresh(operation, left)
    return raise_if_failed(operation, what)
