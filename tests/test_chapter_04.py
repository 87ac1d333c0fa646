"""Chapter 4 (LSTM and GRU): the executed notebook prints what the text claims.

Bounds, not exact values: the scratch cells agree with PyTorch's to rounding; the gradient reaches
100 steps back only with the keep-bias, and more of it than the direct path alone predicts; on the
memory task at T = 100 the LSTM and the GRU solve it and the RNN stays near chance, and the
forget-gate bias decides (3 and 5 learn, default and 1 do not); training opens some units'
forget gates further; the shapes of a 2-layer BiLSTM; the last padded state differs from the last real one,
packing recovers it up to rounding; on synthetic reviews (3 seeds) the linear bag fails on
negations, the MLP bag solves them but not contrasts, the recurrent models solve all; the
early-stopping claims match the printed epochs; on 200 real sentences nothing is measurably above
chance (the majority class sits below it by construction); the majority baseline is printed beside every accuracy; the figures are there.
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
    # "not flat either: it dips between the ends ... but the three printed values are of the same order"
    assert lstm[1] < min(lstm[0], lstm[2]) and max(lstm) < 10 * min(lstm), lstm
    gru = profile["GRU, update bias 3"]
    assert gru[2] > 1e-8 and gru[2] > 1e6 * profile["GRU, default"][2], gru


def test_direct_path_versus_measured_profile(out):
    """Section 4's reconciliation on ||dL/dC_t||: with bias 3 the mean gate is 0.95, the mean product
    of 100 gates is about 1% (more than 0.95^100), the direct path alone keeps about as much, and all
    paths together about twice as much as at the loss; with default gates everything vanishes."""
    lines = {m.group(1): [float(v) for v in re.findall(NUMBER, m.group(2))]
             for m in re.finditer(r"^(LSTM, default|LSTM, forget bias 3)\s+mean forget gate(.*)$", out, flags=re.M)}
    default, bias3 = lines["LSTM, default"], lines["LSTM, forget bias 3"]
    # numbers: mean gate, "100" (gates), mean product, "100", "0" (distances), direct-only ratio, all-paths ratio
    assert len(default) == len(bias3) == 7, (default, bias3)
    assert abs(default[0] - 0.5) < 0.02 and default[2] < 1e-20, default
    assert default[5] < 1e-20 and default[6] < 1e-15, default          # "underflows to 0", "of order 1e-21"
    assert abs(bias3[0] - 0.95) < 0.01 and 0.95 ** 100 < bias3[2] < 0.03, bias3     # "about 1%", "more than 0.006"
    assert bias3[2] / 3 < bias3[5] < 3 * bias3[2], bias3               # direct path alone: "about as much"
    assert 1.5 < bias3[6] < 4 and bias3[6] > 30 * bias3[5], bias3      # all paths: "about twice as large"


def test_memory_task_table(out):
    """Columns: accuracy, updates made (always 200: the budget is in updates), seconds; the
    majority-class baseline is printed in the header."""
    table = after(out, "memory task, T = 100, 200 updates")
    majority = row(table, "memory task, T = 100, 200 updates of 64 sequences (chance 25%; majority class of the test set")
    assert 0.25 <= majority[-1] <= 0.3, majority
    rnn, lstm, gru = row(table, "RNN"), row(table, "LSTM, forget bias 3"), row(table, "GRU, update bias 3")
    assert lstm[1] == gru[1] == rnn[1] == 200, f"every run makes 200 updates: {rnn, lstm, gru}"
    assert lstm[0] >= 0.9 and gru[0] >= 0.9, (lstm, gru)
    assert rnn[0] <= 0.4, f"the vanilla RNN should stay near chance (25%): {rnn}"


def test_forget_gate_bias_table(out):
    """Columns: sigmoid of the bias, accuracy, updates made, seconds. The text: 3 and 5 learn,
    the default and 1 stay at chance."""
    table = after(out, "forget-gate bias   sigmoid")
    default, one, three, five = row(table, "default (about 0)"), row(table, "1 "), row(table, "3 "), row(table, "5 ")
    assert (default[0], one[0], three[0], five[0]) == (0.5, 0.731, 0.953, 0.993)     # the sigmoid column
    assert default[2] == one[2] == five[2] == 200, (default, one, five)
    assert default[1] <= 0.4 and one[1] <= 0.4, (default, one)
    assert three[1] >= 0.9 and five[1] >= 0.9, (three, five)


def test_learned_forget_gates(out):
    """Training opens the gates further, more for some units (section 5's plot)."""
    init = row(out, "at initialisation  mean forget gate per unit from")
    trained = row(out, "after 200 updates  mean forget gate per unit from")
    # numbers: min, max, "10" (%), "100" (steps), count, "64"
    assert 0.9 < init[0] < init[1] < 0.99 and init[4] <= 3, init
    assert trained[1] > init[1] and trained[0] > 0.8, (init, trained)      # "the per-unit range moves up"
    assert trained[4] >= init[4] + 5, (init, trained)                     # "a handful of units"


def test_multilayer_bidirectional_shapes(out):
    assert "output (3, 5, 12)  h_n (4, 3, 6)  c_n (4, 3, 6)" in out
    assert "last layer, forward  == output[:, -1, :H]: True" in out
    assert "last layer, backward == output[:, 0, H:]:  True" in out


def test_last_real_step_versus_last_padded_step(out):
    padded = row(out, "|last padded - last real| per sequence:")
    packed = row(out, "|packed h_n  - last real| per sequence:")
    assert padded[0] < 1e-6 and min(padded[1:]) > 0.01, padded
    assert max(packed) < 1e-6, packed              # "up to float rounding": a few float32 ulps
    backward = row(out, "backward state at t = 0, |unpacked - packed| per sequence:")
    assert backward[0] < 1e-5 and min(backward[1:]) > 0.01, backward


def test_missing_texts_are_dropped_before_tokenising(out):
    assert "without dropping: AttributeError - 'float' object has no attribute 'lower'" in out
    before, after_drop, valid, test = row(out, "rows:")
    assert before == 2000 and 1900 < after_drop < 2000 and valid > 400 and test > 1800


def sentiment_rows(out) -> dict[str, list[float]]:
    """Model -> [all, sd, plain, sd, negated, sd, contrast, sd] (means and standard deviations)."""
    table = after(out, "test reviews; means")
    return {name: row(table, name) for name in ("bag of embeddings", "MLP on the bag", "RNN", "LSTM", "GRU")}


def test_sentiment_table(out):
    table = after(out, "test reviews; means")
    majority = row(table, "majority class")
    assert len(majority) == 4 and all(0.45 <= m <= 0.55 for m in majority), majority
    results = sentiment_rows(out)
    for name, values in results.items():
        assert len(values) == 8, f"{name}: expected mean and sd of all, plain, negated, contrast: {values}"
        assert all(0 <= v <= 1 for v in values) and all(sd < 0.2 for sd in values[1::2]), (name, values)
    bag, mlp, rnn = results["bag of embeddings"], results["MLP on the bag"], results["RNN"]
    # plain: every model far above the majority class
    assert min(v[2] for v in results.values()) >= 0.85, results
    # negated: the linear bag below the majority class, the MLP on the same bag solves them
    assert bag[4] <= majority[2] - 0.2 and mlp[4] >= 0.95, (bag, mlp)
    # contrast: both baselines near 0.5, the recurrent models far above
    assert abs(bag[6] - 0.5) < 0.08 and abs(mlp[6] - 0.5) < 0.08, (bag, mlp)
    for name in ("RNN", "LSTM", "GRU"):
        assert results[name][6] >= 0.9, (name, results[name])
    # "0.99 to 1.00" for the LSTM and the GRU; the RNN is the weakest sequence model on negations
    for name in ("LSTM", "GRU"):
        assert results[name][0] >= 0.99, (name, results[name])
    assert rnn[4] < min(results["LSTM"][4], results["GRU"][4]), rnn
    # plain: "the vanilla RNN is no better there than the linear bag: its mean is at most one of the
    # bag's standard deviations above the bag's mean" (within one of them on one machine, below on another)
    assert rnn[2] - bag[2] <= bag[3] and rnn[2] < 0.99, (rnn, bag)
    # "the LSTM and the GRU end at a test accuracy already at the ceiling; the MLP and the vanilla RNN do not"
    assert mlp[0] < 0.99 and rnn[0] < 0.99, (mlp, rnn)


def test_early_stopping_claims(out):
    """The text: early stopping ended most linear-bag runs (seed 0 among them, 3 epochs after its
    best); the LSTM and GRU runs all reached the 10-epoch cap, seed 0 of the LSTM with its best
    epoch last."""
    ended = {}
    for name in ("bag of embeddings", "MLP on the bag", "RNN", "LSTM", "GRU"):
        line = re.search(rf"^{re.escape(name)}\s+epochs run \[(.*?)\], best epoch \[(.*?)\]: ended by early "
                         rf"stopping in (\d) of 3 runs", out, flags=re.M)
        assert line, name
        epochs, best = ([int(v) for v in line.group(k).split(",")] for k in (1, 2))
        assert all(1 <= b <= e <= 10 for b, e in zip(best, epochs)), (name, epochs, best)
        assert int(line.group(3)) == sum(e < 10 for e in epochs)
        assert all(e == 10 or e - b == 3 for b, e in zip(best, epochs)), (name, epochs, best)   # patience 3
        ended[name] = (epochs, best)
    bag_epochs, bag_best = ended["bag of embeddings"]
    assert sum(e < 10 for e in bag_epochs) >= 2 and bag_epochs[0] < 10, bag_epochs
    for name in ("LSTM", "GRU"):
        assert ended[name][0] == [10, 10, 10], (name, ended[name])
    assert ended["LSTM"][1][0] == 10, ended["LSTM"]
    others = [e for name in ("MLP on the bag", "RNN", "LSTM", "GRU") for e in ended[name][0]]
    assert sum(e == 10 for e in others) > len(others) / 2, others


def test_real_sentences(out):
    """200 real sentences, 10 folds: the majority class is below chance by construction, nobody is
    measurably above chance; about a third of the test words are unknown."""
    unknown = row(out, "200 real sentences, 10 test folds of 40: share of test words never seen in training")
    assert 0.25 <= unknown[-1] <= 0.45, unknown
    block = after(out, "share of test words never seen in training")
    majority, bag, lstm = (row(block, name) for name in ("majority class", "bag of embeddings", "LSTM"))
    for values in (majority, bag, lstm):
        mean, sd, low, high = values
        assert 0.3 <= low <= mean <= high <= 0.75 and 0.02 <= sd <= 0.12, values
    assert majority[0] < 0.5, majority     # "below chance by construction" (100 + 100 sentences)
    for model in (bag, lstm):
        assert abs(model[0] - 0.5) <= model[1], (model, majority)      # within one sd of chance


def test_polarity_download_is_opt_in(out):
    assert ("Full sentence-polarity experiment skipped" in out or "sentence polarity, test accuracy" in out
            or "sentence polarity data set not available" in out)


def test_imdb_is_opt_in(out):
    assert "IMDB experiment skipped" in out or "IMDB test loss" in out or "IMDB not available" in out


def test_figures(nb):
    """Cell diagrams, gradient profiles, learned forget gates, learning curves."""
    assert count_images(nb) >= 4


def test_synthetic_vocabulary_size(out):
    """The text: a vocabulary of 129 entries (127 words, <pad> and <unk>)."""
    assert row(out, "vocabulary")[0] == 129
