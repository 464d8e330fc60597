"""The scripted demo day. Grows as connectors land; today it proves the runtime works:
a job goes through the queue to a worker process and back."""

from __future__ import annotations

import time
from typing import Callable

from hub.runtime import Runtime


def play(runtime: Runtime, base_url: str, echo: Callable[[str], None] = print) -> None:
    from hub.queue import enqueue

    job = enqueue(runtime.redis, "hub.demo.jobs.ping", "demo")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status = job.get_status(refresh=True)
        if status == "finished":
            echo(f"worker:   ran job {job.id} -> {job.return_value()!r}")
            return
        if status == "failed":
            raise RuntimeError(f"demo job failed: {job.latest_result()}")
        time.sleep(0.2)
    raise RuntimeError("the worker did not pick up the demo job within 30 s")
