"""Forward model: lookup-table curves against the analytic incomplete-gamma solution."""

from __future__ import annotations

import numpy as np
import pytest

from isles2018.phantom.aif import AifParameters, aif_hu, analytic_residue_convolution, sample_aif
from isles2018.phantom.perfusion import (
    FLOW_SCALE,
    K_H,
    RHO_G_PER_ML,
    Compartment,
    build_table,
    tissue_curves,
)


@pytest.mark.parametrize("seed", range(5))
def test_clean_curves_match_the_analytic_solution_within_half_a_hu(seed: int) -> None:
    rng = np.random.default_rng(seed)
    aif = sample_aif(rng)
    frames = np.arange(64.0)
    table = build_table(aif, 65.0)
    n = 40
    gm = Compartment(rng.uniform(0, 1, n), rng.uniform(3, 70, n), rng.uniform(2.8, 45, n))
    wm = Compartment(1 - gm.fraction, rng.uniform(1, 30, n), rng.uniform(2.8, 55, n))
    delay = rng.uniform(0, 16, n)
    curves = tissue_curves(table, [gm, wm], delay, frames)
    for v in range(n):
        exact = sum(
            FLOW_SCALE
            * c.fraction[v]
            * c.cbf[v]
            * analytic_residue_convolution(aif, c.mtt_s[v], frames - delay[v])
            for c in (gm, wm)
        )
        assert np.max(np.abs(curves[v] - exact)) <= 0.5


def test_pure_grey_and_white_matter_peak_near_14_and_6_hu_at_a_400_hu_aif() -> None:
    aif = AifParameters(t0_s=8.0, alpha=3.0, beta_s=1.4, peak_hu=400.0)
    table = build_table(aif, 64.0)
    one = np.ones(1)
    gm = tissue_curves(
        table, [Compartment(one, 55 * one, 60 * 4 / 55 * one)], 0 * one, np.arange(64.0)
    )
    wm = tissue_curves(
        table, [Compartment(one, 22 * one, 60 * 2 / 22 * one)], 0 * one, np.arange(64.0)
    )
    assert 12.5 <= gm.max() <= 15.5
    assert 5.0 <= wm.max() <= 7.5


@pytest.mark.parametrize("mtt_s", [3.0, 4.4, 8.0, 15.0, 25.0])
def test_mass_balance_long_window_without_recirculation_gives_cbv_within_2_percent(
    mtt_s: float,
) -> None:
    aif = AifParameters(
        t0_s=8.0, alpha=3.0, beta_s=1.4, peak_hu=400.0, recirculation_fraction=0.0,
        plateau_fraction=0.0,
    )  # fmt: skip
    frames = np.arange(300.0)
    table = build_table(aif, 301.0)
    cbf = np.array([55.0, 30.0, 11.0])
    comp = Compartment(np.ones(3), cbf, np.full(3, mtt_s))
    curves = tissue_curves(table, [comp], np.array([0.0, 4.0, 12.0]), frames)
    area_ratio = curves.sum(axis=1) / aif_hu(aif, frames).sum()
    cbv = K_H / RHO_G_PER_ML * 100.0 * area_ratio
    np.testing.assert_allclose(cbv, comp.cbv, rtol=0.02)


def test_lookup_needs_frames_on_the_table_grid() -> None:
    table = build_table(AifParameters(8.0, 3.0, 1.4, 400.0), 20.0)
    with pytest.raises(ValueError, match="multiples"):
        table.lookup(np.array([4.0]), np.array([0.0]), np.array([0.0, 0.55]))
