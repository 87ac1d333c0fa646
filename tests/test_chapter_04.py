"""Chapter 4 (LSTM and GRU): the executed notebook prints what the text claims.

Bounds, not exact values: the scratch cells agree with PyTorch's to rounding; the gradient reaches
100 steps back only with the keep-bias; on the memory task at T = 100 the LSTM and the GRU solve it
and the RNN stays near chance, and the forget-gate bias decides; the shapes of a 2-layer BiLSTM;
the last padded state differs from the last real one, packing recovers it; the sentiment table is
complete and the baseline fails on negations where the LSTM does not; the figures are there.
"""
from __future__ import annotations

import re

import pytest

from conftest import count_images, stdout_text

pytestmark = pytest.mark.slow

NUMBER = r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?"


@pytest.fixture(scope="module")
def nb(executed_chapter):
    return executed_chapter("04_lstm_gru")


@pytest.fixture(scope="module")
def out(nb) -> str:
    return stdout_text(nb)


def row(text: str, label: str) -> list[float]:
    """The numbers on the first printed line that starts with ``label`` (label excluded); a
    percentage becomes a fraction."""
    match = re.search(rf"^\s*{re.escape(label)}(.*)$", text, flags=re.M)
    assert match, f"no printed line starts with {label!r}"
    return [float(v[:-1]) / 100 if v.endswith("%") else float(v) for v in re.findall(rf"{NUMBER}%?", match.group(1))]


def after(text: str, marker: str) -> str:
    assert marker in text, f"{marker!r} not printed"
    return text[text.index(marker):]


def test_direct_path_factors(out):
    assert "f =  0.5: f^100 = 7.89e-31" in out and "f = 0.99: f^100 = 3.66e-01" in out


def test_scratch_cells_match_pytorch(out):
    lstm = row(out, "LSTM: max |scratch - nn.LSTMCell| over 30 steps, h and c:")[-1]
    gru = row(out, "GRU: max |scratch - nn.GRUCell| over 30 steps:")[-1]
    assert lstm < 1e-5 and gru < 1e-5, (lstm, gru)
    assert "weight_ih (80, 10) weight_hh (80, 20) -> our forget gate's W (20, 30)" in out
    assert row(out, "parameters per cell:") == [2560, 1920]


def test_gradient_profiles(out):
    """At distance 100: vanished (or 0) without the keep-bias, still large with it."""
    profile = {name: row(out, name)[1::2] for name in ("RNN ", "LSTM, default", "LSTM, forget bias 3",
                                                       "GRU, default", "GRU, update bias 3")}
    for name in ("RNN ", "LSTM, default", "GRU, default"):
        assert profile[name][2] < 1e-15, (name, profile[name])      # (distance 0, 50, 100)
    lstm = profile["LSTM, forget bias 3"]
    assert lstm[2] > 0.1 * lstm[0], lstm
    gru = profile["GRU, update bias 3"]
    assert gru[2] > 1e-8 and gru[2] > 1e6 * profile["GRU, default"][2], gru


def test_memory_task_table(out):
    """Columns: accuracy, updates made (always 200: the budget is in updates), seconds."""
    table = after(out, "memory task, T = 100")
    rnn, lstm, gru = row(table, "RNN"), row(table, "LSTM, forget bias 3"), row(table, "GRU, update bias 3")
    assert lstm[1] == gru[1] == rnn[1] == 200, f"every run makes 200 updates: {rnn, lstm, gru}"
    assert lstm[0] >= 0.9 and gru[0] >= 0.9, (lstm, gru)
    assert rnn[0] <= 0.4, f"the vanilla RNN should stay near chance (25%): {rnn}"


def test_forget_gate_bias_table(out):
    """Columns: sigmoid of the bias, accuracy, updates made, seconds."""
    table = after(out, "forget-gate bias")
    default, one, three = row(table, "default (about 0)"), row(table, "1 "), row(table, "3 ")
    assert default[0] == 0.5 and one[0] == 0.73 and three[0] == 0.95     # the sigmoid column
    assert default[2] == one[2] == 200, (default, one)
    assert default[1] <= 0.4 and one[1] <= 0.5, (default, one)
    assert three[1] >= 0.9, three


def test_multilayer_bidirectional_shapes(out):
    assert "output (3, 5, 12)  h_n (4, 3, 6)  c_n (4, 3, 6)" in out
    assert "last layer, forward  == output[:, -1, :H]: True" in out
    assert "last layer, backward == output[:, 0, H:]:  True" in out


def test_last_real_step_versus_last_padded_step(out):
    padded = row(out, "|last padded - last real| per sequence:")
    packed = row(out, "|packed h_n  - last real| per sequence:")
    assert padded[0] < 1e-6 and min(padded[1:]) > 0.01, padded
    assert max(packed) < 1e-5, packed
    backward = row(out, "backward state at t = 0, |unpacked - packed| per sequence:")
    assert backward[0] < 1e-5 and min(backward[1:]) > 0.01, backward


def test_missing_texts_are_dropped_before_tokenising(out):
    assert "without dropping: AttributeError - 'float' object has no attribute 'lower'" in out
    before, after_drop, valid, test = row(out, "rows:")
    assert before == 2000 and 1900 < after_drop < 2000 and valid > 400 and test > 1800


def test_sentiment_table(out):
    table = after(out, "model              test loss")
    results = {name: row(table, name) for name in ("bag of embeddings", "RNN", "LSTM", "GRU", "BiLSTM")}
    for name, values in results.items():
        assert len(values) == 6, f"{name}: expected loss, accuracy, plain, negated, contrast, seconds: {values}"
    loss, acc, plain, negated, contrast, seconds = results["LSTM"]
    assert acc >= 0.9 and negated >= 0.9 and contrast >= 0.9 and loss < 0.3, results["LSTM"]
    bag = results["bag of embeddings"]
    assert bag[3] <= 0.5, f"the baseline must fail on negated reviews: {bag}"
    assert negated - bag[3] >= 0.3 and acc > bag[1] + 0.1, (results["LSTM"], bag)
    for name in ("RNN", "GRU", "BiLSTM"):
        assert results[name][1] >= 0.8, (name, results[name])
    line = row(out, "accuracy on negated test reviews: bag of embeddings")
    assert line[0] == bag[3] and line[1] == negated


def test_early_stopping_reported(out):
    stops = "\n".join(line for line in out.splitlines() if "stopped after" in line)
    for name in ("bag of embeddings", "RNN", "LSTM", "GRU", "BiLSTM"):
        epochs, best, seconds = row(stops, f"{name} ")[:3]
        assert 1 <= best <= epochs <= 20, (name, epochs, best)


def test_imdb_is_opt_in(out):
    assert "IMDB experiment skipped" in out or "IMDB test loss" in out or "IMDB not available" in out


def test_figures(nb):
    assert count_images(nb) >= 2
