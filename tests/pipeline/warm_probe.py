"""A job for tests/pipeline/test_pipeline_push_batching.py: where and on what it ran."""

import os


def where() -> dict:
    from hub.runtime import current

    runtime = current()
    return {
        "pid": os.getpid(),
        "runtime": id(runtime),
        "engine": id(runtime.db.engine),
        "mappings": sorted(":".join(str(part) for part in key) for key in runtime.__dict__.get("_mappings", {})),
    }


def hup_midway() -> dict:
    """Send this process a SIGHUP mid-job: does the job keep the config it started with?"""
    import signal
    import time

    from hub.runtime import current

    runtime = current()
    before = runtime.config
    os.kill(os.getpid(), signal.SIGHUP)
    time.sleep(0.05)  # the handler runs at the next bytecode boundary, well within this
    return {"same_config": runtime.config is before}
