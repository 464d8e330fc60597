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
