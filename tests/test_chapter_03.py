"""Chapter 3 (vanishing and exploding gradients): the executed notebook prints what the text claims.

Bounds, not exact values: the fitted gradient rates are ordered by spectral radius (vanishing below
1, exploding above), saturation speeds up the vanishing, clipping rescues a diverging run, and on
the memory task a vanilla RNN is near chance at T = 100 while an LSTM solves it.
"""
from __future__ import annotations

import re

import pytest

from conftest import count_images, stdout_text

pytestmark = pytest.mark.slow

NUMBER = r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?"


@pytest.fixture(scope="module")
def out(executed_chapter) -> str:
    return stdout_text(executed_chapter("03_gradients"))


def row(text: str, label: str) -> list[float]:
    """The numbers on the first printed line that starts with ``label`` (label excluded)."""
    match = re.search(rf"^\s*{re.escape(label)}(.*)$", text, flags=re.M)
    assert match, f"no printed line starts with {label!r}"
    return [float(v.rstrip("%")) for v in re.findall(rf"{NUMBER}%?", match.group(1))]


def test_product_of_factors_and_tanh_slope(out):
    assert "0.5^20 =  9.54e-07" in out
    assert "autograd agrees with 1 - y^2: True" in out
    assert re.search(r"\|y\| = 0.99: tanh' = 0.0199", out)


def test_fused_output_gradient_is_only_direct(out):
    assert "steps where out.grad is non-zero: [59]" in out


def test_fitted_rates_follow_the_spectral_radius(out):
    rates = {rho: row(out, f"radius {rho}")[-1] for rho in ("0.5", "1.0", "1.5")}
    assert rates["0.5"] < rates["1.0"] < rates["1.5"], rates
    assert rates["0.5"] < 0.6 and rates["1.0"] < 1.0, f"radius 0.5 and 1.0 must vanish: {rates}"
    assert rates["1.5"] > 1.0, f"radius 1.5 must explode: {rates}"
    assert row(out, "PyTorch default")[-1] < 1.0
    for name in ("orthogonal", "identity"):
        radius, sigma_max, *_ , rate = row(out, name)
        assert abs(radius - 1) < 1e-2 and abs(sigma_max - 1) < 1e-2, name
        assert rates["1.0"] - 0.05 < rate < 1.0, f"{name}: rate {rate}"


def test_saturation_speeds_up_vanishing(out):
    table = out[out.index("input scale"):out.index("clip by norm")]   # the saturation table only
    gentle, strong = row(table, "1 "), row(table, "10 ")  # share saturated %, mean tanh', rate
    assert strong[0] > 10 and gentle[0] < 1, (gentle, strong)
    assert strong[1] < gentle[1] and strong[2] < gentle[2], (gentle, strong)


def test_clipping_rescues_the_exploding_run(out):
    def run(name):
        match = re.search(rf"^{re.escape(name)}\s*: max step loss\s+({NUMBER}), max grad norm\s+({NUMBER}), "
                          rf"final val accuracy ({NUMBER})", out, flags=re.M)
        assert match, f"no summary line for {name}"
        return [float(v) for v in match.groups()]
    free, by_norm, by_value = run("no clipping"), run("clip norm 1.0"), run("clip value 0.05")
    assert free[0] > 2 * by_norm[0], "without clipping the loss should spike far above the clipped run's"
    assert by_norm[2] >= 0.95 and by_value[2] >= 0.9, (by_norm, by_value)
    assert free[2] < 0.6, f"the unclipped run should not solve the task: {free}"
    assert "norm before clipping: 3.027" in out


def test_memory_table_and_lstm_preview(out):
    assert "T  steps  accuracy" in out
    table = {int(m.group(1)): (int(m.group(2)), float(m.group(3)))
             for m in re.finditer(rf"^\s+(10|20|50|100)\s+(\d+)\s+({NUMBER})%$", out, flags=re.M)}
    assert sorted(table) == [10, 20, 50, 100], f"memory table rows: {table}"
    assert all(steps == 512 for steps, _ in table.values()), f"every run gets the 512-step budget: {table}"
    assert table[10][1] >= 90, f"T = 10 should be learned: {table} (T: (steps, accuracy %))"
    assert 15 <= table[100][1] <= 35, f"the vanilla RNN at T = 100 should be near chance (25%): {table}"
    lstm = re.search(rf"LSTM \(forget-gate bias 4\), T = 100: accuracy ({NUMBER})% after (\d+) steps", out)
    assert lstm, "no LSTM preview line"
    assert float(lstm.group(1)) >= 90, f"the LSTM preview should solve T = 100: {lstm.group(0)}"
    assert int(lstm.group(2)) == 512, f"the LSTM gets the same 512-step budget: {lstm.group(0)}"


def test_parallelism_timings_printed(out):
    assert len(re.findall(r"T = +\d+: RNN +[\d.]+ ms, position-wise linear +[\d.]+ ms", out)) == 3


def test_figures(executed_chapter):
    assert count_images(executed_chapter("03_gradients")) >= 3
