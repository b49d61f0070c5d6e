"""Tracking quality on MOT15 ground truth (figures printed by bench/tracking_quality.py); floors here."""

from __future__ import annotations

import pytest

from bench.tracking_quality import mot_metrics
from tests.conftest import pets, tud

# Measured with the default settings (README, "Tracking quality"), floors a little below.
FLOORS = {"PETS09-S2L1": {"mota": 0.78, "idf1": 0.57}, "TUD-Campus": {"mota": 0.50, "idf1": 0.62}}


@pytest.mark.parametrize("seq", [pets(), tud()], ids=lambda s: s.name)
def test_tracking_quality_floor(indexed, seq) -> None:
    m = mot_metrics(indexed, seq.video, seq.gt, seq.scale)
    print(f"{seq.name}: MOTA={m['mota']:.3f} IDF1={m['idf1']:.3f} switches={int(m['num_switches'])}")
    assert m["mota"] >= FLOORS[seq.name]["mota"]
    assert m["idf1"] >= FLOORS[seq.name]["idf1"]
