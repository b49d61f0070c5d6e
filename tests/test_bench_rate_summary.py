"""The retrieval bench averages the samples of one lower frame rate and sets them beside the full rate
(one sample of 1-2 fps footage moves by up to 0.18 F1 with the frame it starts at), and indexes with
the IndexConfig changes it is given."""

from __future__ import annotations

import pytest

from bench.search_quality import rate_summary


def test_samples_of_one_rate_are_averaged_beside_the_full_rate() -> None:
    report = {
        "pets": {"f1": 0.9},
        "pets@1fps": {"f1": 0.8},
        "pets@1fps+3": {"f1": 0.84},
        "pets@1fps+7": {"f1": 0.77},
        "pets@2fps-images": {"f1": 0.6},
        "adl@2fps+5": {"f1": 0.7},
        "adl@5fps": {"error": "cannot index"},
        "tud-in1080p@0.5": {"f1": 0.3},  # a scale, not a frame rate
    }
    lines = {line.split()[0]: line for line in rate_summary(report)}
    assert set(lines) == {"pets@1fps", "pets@2fps-images", "adl@2fps"}
    mean = (0.8 + 0.84 + 0.77) / 3
    assert f"F1 mean {mean:.3f} over 3 sample(s)" in lines["pets@1fps"]
    assert f"difference {mean - 0.9:+.3f}" in lines["pets@1fps"]
    assert "full rate 0.900" in lines["pets@2fps-images"]
    assert "full rate" not in lines["adl@2fps"]  # adl itself was not run
    assert float(lines["adl@2fps"].split()[3]) == pytest.approx(0.7)


def test_index_config_overrides_reach_nested_configs_and_refuse_unknown_fields() -> None:
    from bench.search_quality import with_overrides
    from pipeline.indexer import IndexConfig

    base = IndexConfig()
    changed = with_overrides(base, {"min_gap_s": 0.2, "plan": {"budget": 0.5}})
    assert changed.min_gap_s == 0.2 and changed.plan.budget == 0.5
    assert changed.max_gap_s == base.max_gap_s and changed.plan.tile_px == base.plan.tile_px
    with pytest.raises(ValueError, match="no field 'budgt'"):
        with_overrides(base, {"plan": {"budgt": 0.5}})
    with pytest.raises(ValueError):  # the config's own range check still applies
        with_overrides(base, {"min_gap_s": -1.0})
