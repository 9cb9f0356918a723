"""`make bench` at a tiny scale, so its code paths cannot rot: every section runs, no timing is asserted."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from bench.run import SCALES, run, table


def test_every_bench_section_runs_at_tiny_scale(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    results = run(SCALES["tiny"], tmp_path / "data", out, echo=lambda _: None)

    assert json.loads(out.read_text()) == results
    sections = results["sections"]
    assert sections["ingest_litellm"]["events"]["value"] == 2_000
    assert sections["ingest_litellm"]["rejected"]["value"] == 0
    assert sections["ingest_claude_code"]["records"]["value"] > 0
    assert sections["ingest_claude_code"]["rejected"]["value"] == 0
    assert sections["me"]["samples"]["value"] == 20
    assert sections["slash_command"]["requests"]["value"] == 4 * 3
    assert sections["digest"]["teams"]["value"] == 5
    assert sections["digest"]["charts"]["value"] == 2 * 5  # every team big enough to show its figures
    if importlib.util.find_spec("duckdb"):
        assert sections["ingest_litellm"]["duckdb_groups"]["value"] > 0
        assert "met" in sections["ingest_litellm"]["ratio_to_duckdb"]
    for figures in sections.values():
        for item in figures.values():
            assert item["unit"] and item["commit"] and "cores" in item["machine"]
    assert "events_per_second" in table(results)
