"""The benchmark's engine mapping and its hand-written twin agree (no timing here)."""

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "mapping.py"


def load_bench():
    spec = importlib.util.spec_from_file_location("hub_mapping_benchmark", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_engine_and_hand_written_agree_on_generated_leads(registry):
    bench = load_bench()
    from hub.mapping import load_mapping

    mapping = load_mapping(bench.MAPPING, registry=registry)
    records = bench.generate(3000, seed=11)
    results, rejected = mapping.apply_many(records)
    assert rejected == []
    assert results == [bench.hand_written(r) for r in records]
    assert len(mapping.fields) + len(mapping.events) + 1 >= 15
    # the generated data exercises the interesting paths
    assert any(("phone", "+861012345678") in r.identities or any(k == "phone" and v.startswith("+8610") for k, v in r.identities) for r in results)
    assert any(not any(k == "phone" for k, _ in r.identities) for r in results)  # junk phones dropped
    assert any("询价" in r.tags for r in results)
