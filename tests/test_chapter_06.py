"""Chapter 6 (attention): the executed notebook prints what the text claims.

Bounds, not exact values: the masking demonstration; FastText puts a held-out adjective near a seen
one of its polarity; the classifier table (3 seeds): the BiLSTM attention model is best on held-out
words and beats the mean-pooling BiLSTM and the last-state LSTM there, while the bags are as good
on plain reviews and fail on negations, and the BiLSTM read through its final states fits the
seen words but transfers worse than attention; where the weights sit, and what deleting tokens does; the
seq2seq table: without attention exact match and token accuracy fall with length, with attention
they stay at 1; with the clauses fixed, the longer half has the lower token accuracy; the alignment
agreement, the weight on articles and where particles look; the counted multiply-adds; the frame (questions with answers, Korean summary,
exercise link); the figures.
"""
from __future__ import annotations

import re

import pytest

from conftest import count_images, number, stdout_text

pytestmark = pytest.mark.slow

NUMBER = r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?"
MODELS = ("bag of embeddings", "bag MLP", "bag attention", "LSTM (last state)", "BiLSTM last states", "BiLSTM mean",
          "BiLSTM attention")
BUCKETS = ("5-8", "9-12", "13-16", "17-20", "21-23")


@pytest.fixture(scope="module")
def nb(executed_chapter):
    return executed_chapter("06_attention")


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


def markdown(nb) -> str:
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def test_masking_demonstration(out):
    assert "masked with -inf:    [0.731 0.269 0.    0.   ]" in out
    assert "bias b = 5 added:    [0.731 0.269 0.    0.   ]" in out          # the bias changes nothing
    zero = row(out, "masked with 0:")
    assert zero[2] + zero[3] > 0.5, zero                                     # "the padding takes most of the weight"
    after_softmax = row(out, "masked after softmax:")
    assert after_softmax[-1] < 0.9, after_softmax                            # rows no longer sum to 1


def test_fasttext_places_held_out_words_by_polarity(out):
    same = number(r"cosine\(wonderful, superb\) = (" + NUMBER + ")", out)
    other = number(r"cosine\(wonderful, dull\) = (" + NUMBER + ")", out)
    assert same > 0.8 and other < 0.3, (same, other)


def classifier_table(out) -> dict[str, list[float]]:
    """model -> [seen mean, std, held-out mean, std, plain mean, std, negated mean, std, contrast mean, std, epochs]."""
    table = after(out, "model                 seen words")
    values = {name: row(table, name) for name in MODELS}
    for name, v in values.items():
        assert len(v) == 11, f"{name}: {v}"
    return values


def test_attention_wins_on_held_out_words(out):
    t = classifier_table(out)
    attention = t["BiLSTM attention"]
    assert attention[0] >= 0.95 and attention[2] >= 0.93 and attention[3] <= 0.05, attention   # "small spread"
    assert all(attention[2] > t[name][2] for name in MODELS if name != "BiLSTM attention"), t
    assert min(attention[4], attention[6], attention[8]) >= 0.85, attention         # every kind, negations included
    mean = t["BiLSTM mean"]
    assert attention[2] - mean[2] >= 0.1 and 0.7 <= mean[2] <= 0.88, mean           # "near 0.80"
    assert mean[8] >= 0.9 and mean[6] <= 0.6, mean                                   # contrasts yes, most negations no
    last = t["BiLSTM last states"]
    assert last[0] >= 0.95, last                                                      # fits the seen words
    assert attention[2] - last[2] >= 0.2 and last[3] >= 0.05, last                   # transfers worse, wide spread


def test_last_state_lstm_fits_seen_words_but_transfers_badly(out):
    t = classifier_table(out)
    lstm = t["LSTM (last state)"]
    assert lstm[0] >= 0.93, lstm                                                     # "almost perfect" on seen words
    assert lstm[3] >= 0.05 and lstm[3] > t["bag MLP"][3], (lstm, t["bag MLP"])     # "varies widely", "wider than the bag MLP's"
    assert lstm[2] <= t["BiLSTM attention"][2] - 0.1, lstm
    assert lstm[2] < t["bag MLP"][2], (lstm, t["bag MLP"])                            # "below the bag MLP's" (not settled: said so)


def test_bags_are_strong_on_plain_reviews_and_fail_on_order(out):
    t = classifier_table(out)
    bag_attention, attention, mlp, bag = t["bag attention"], t["BiLSTM attention"], t["bag MLP"], t["bag of embeddings"]
    assert bag_attention[4] >= 0.95 and bag_attention[4] >= attention[4] - 0.03, (bag_attention, attention)
    assert mlp[4] >= 0.85, mlp                                                        # "not far behind"
    assert bag[6] <= 0.4, bag                                                         # negations: far below chance
    for name in ("bag MLP", "bag attention"):
        assert t[name][6] >= 0.4, (name, t[name])                                     # negations: close to chance (<= 0.65 below)
    for name in ("bag of embeddings", "bag MLP", "bag attention"):
        assert 0.35 <= t[name][8] <= 0.65, (name, t[name])                            # contrasts: about chance
        assert t[name][6] <= 0.65, (name, t[name])
    assert all(t[name][10] == 8.0 for name in MODELS), "the text says every model ran all 8 epochs"
    assert max(t[name][0] for name in ("bag of embeddings", "bag MLP", "bag attention")) <= 0.8, t   # "0.64 to 0.77"
    assert min(t[name][0] for name in ("bag of embeddings", "bag MLP", "bag attention")) >= 0.6, t


def test_where_the_weights_sit(out):
    bilstm = row(out, "BiLSTM attention: top weight")
    bag = row(out, "bag attention   : top weight")
    # [mean top weight, fraction on an adjective, 4 (the first-4 count), fraction in the first 4 tokens]
    assert bilstm[1] <= 0.05 and bilstm[3] >= 0.5, bilstm
    assert bag[1] >= 0.3, bag                                                         # "often"


def test_deleting_tokens(out):
    table = after(out, "deleted token    BiLSTM attention")
    top, rand, low = row(table, "top-weighted"), row(table, "random"), row(table, "lowest-weighted")
    assert top[0] < rand[0], (top, rand)                                              # BiLSTM: top flips fewer than random
    assert top[1] >= 0.25 and rand[1] <= 0.1 and low[1] <= 0.02, (top, rand, low)      # bag attention: words matter
    assert "(prediction flips, 1000 reviews)" in out
    negation = number(r"negated reviews: mean weight on the negation word (" + NUMBER + ")", out)
    adjective = number(r"negated reviews: mean weight on the negation word .*, on the adjective (" + NUMBER + ")", out)
    assert negation < 0.1 and adjective < 0.05, (negation, adjective)
    flips = number(r"delete the negation word: prediction flips for (" + NUMBER + ")%", out) / 100
    assert flips >= 0.6, flips


def test_teacher_forcing_equals_step_by_step(out):
    assert number(r"max \|all at once - step by step\| = (" + NUMBER + ")", out) < 1e-5
    assert "decoder reads:   <s> " in out and re.search(r"must predict: .* </s>", out)


def test_splits_and_training_curves(out):
    for name, n in (("train", 2500), ("valid", 500), ("test", 900)):
        counts = row(out, name + " {")
        assert sum(counts[1::2]) == n and counts[0::2] == [1, 2, 3], (name, counts)
    none = row(out, "no attention  validation token accuracy by epoch:")
    dot = row(out, "dot-product   validation token accuracy by epoch:")
    additive = row(out, "additive      validation token accuracy by epoch:")
    assert none[5] < 0.9 and none[5] > none[4], none                                  # "still improving"
    assert dot[4] >= 0.99 and additive[4] >= 0.99, (dot, additive)                    # "within a few epochs"


def length_table(out) -> dict[str, list[float]]:
    table = after(out, "source length ")
    values = {name: row(table, name) for name in ("no attention", "dot-product", "additive")}
    for name, v in values.items():
        assert len(v) == 11, f"{name}: {v}"                                           # 5 x (exact, token) + overall
    return values


def test_accuracy_falls_with_length_without_attention_only(out):
    t = length_table(out)
    none = t["no attention"]
    exact, tokens = none[0:10:2], none[1:10:2]
    assert exact[0] >= 0.6 and max(exact[1:]) <= 0.1, exact                          # most 1-clause, almost no longer
    assert all(a > b for a, b in zip(tokens, tokens[1:])), tokens                     # token accuracy falls steadily
    assert tokens[0] - tokens[-1] >= 0.2, tokens
    for name in ("dot-product", "additive"):
        assert min(t[name]) == 1.0, (name, t[name])                                   # every sentence, every length


def test_length_with_the_clauses_fixed(out):
    for name in ("no attention", "dot-product", "additive"):
        v = row(out, f"{name:13s} clauses")
        assert v[0::4] == [1, 2, 3] and len(v) == 12, v                               # clause, exact, short, long
        exact, short, long = v[1::4], v[2::4], v[3::4]
        if name == "no attention":
            drops = [exact[0] - exact[1], exact[1] - exact[2]]
            assert drops[0] >= 0.5 and drops[0] > drops[1], exact                     # 1 -> 2 clauses: largest drop
            assert all(s - l >= 0.02 for s, l in zip(short, long)), v                 # longer half: lower token acc.
        else:
            assert min(v[1::4] + short + long) == 1.0, v
    positions = row(after(out, "target position"), "no attention")
    assert positions[0] - max(positions[1:4]) >= 0.05, positions                      # drops after the first five
    assert max(positions[1:4]) - min(positions[1:4]) <= 0.02, positions               # flat in the middle
    assert positions[4] > max(positions[1:4]), positions                              # rises at the very end


def test_alignment_agreement(out):
    assert number(r"the aligned word for (" + NUMBER + ")%", out) >= 90
    weight = number(r"weight on the articles per output word: mean (" + NUMBER + ")", out)
    share = number(r"articles are (" + NUMBER + ")% of source words", out) / 100
    assert 0.08 <= weight <= 0.15 and 0.28 <= share <= 0.35, (weight, share)          # "a ninth", "almost a third"
    particles = number(r"the noun they follow: (" + NUMBER + ")%", out) / 100
    assert 0.5 <= particles <= 0.65, particles                                        # "a little more than half"


def test_sequential_steps_and_multiply_adds_counted(out):
    for T, gru_macs, attention_macs in ((16, 0.39, 0.03), (64, 1.57, 0.52), (256, 6.29, 8.39)):
        v = row(out, f"T = {T:3d}: GRU")                     # [ms, T, M multiply-adds, ms, 1, M multiply-adds]
        assert v[1] == T and v[2] == gru_macs and v[4] == 1 and v[5] == attention_macs, v
        assert v[0] > 0 and v[3] > 0, v                       # timings are printed (a measurement, not bounded)


def test_frame(nb):
    text = markdown(nb)
    assert text.startswith("# Chapter 6: Attention")
    questions = re.findall(r"^\d\. ", text[text.index("## Self-check questions"):text.index("```{admonition} Answers")], re.M)
    assert 3 <= len(questions) <= 6, questions
    assert "```{admonition} Answers\n:class: dropdown" in text
    korean = text[text.index("## 요약 (Korean summary)"):]
    assert re.search(r"[\uac00-\ud7a3]{20}", korean.replace(" ", "")), "the Korean summary must be in Korean"
    assert "../exercises/a06_attention/a06_attention.ipynb" in text
    first = next(c for c in nb.cells if c.cell_type == "code").source
    assert "seqlab.set_seed(0)" in first and "device = seqlab.get_device()" in first


def test_figures(nb):
    assert count_images(nb) >= 3
