"""Chapter 1 (language models): the executed notebook prints sane, mutually consistent numbers.

The n-gram part is deterministic (counts on a fixed split), so its bounds are tight-ish; the
neural part depends on the device and thread count, so its bounds are wider and its assertions
are relations that held with a wide margin in every run (e.g. neural << add-k).
Measured on CPU: add-k test perplexities 281.7 / 170.5 / 650.3 / 1527.0 for n = 1..4, Kneser-Ney
281.7 / 94.6 / 89.2 / 90.8, neural window LM about 93, neural + Kneser-Ney mixture about 74.
"""
from __future__ import annotations

import math
import re

import pytest

from conftest import count_images, number, stdout_text

pytestmark = pytest.mark.slow

SLUG = "01_language_models"


@pytest.fixture(scope="module")
def nb(executed_chapter):
    return executed_chapter(SLUG)


@pytest.fixture(scope="module")
def out(nb) -> str:
    return stdout_text(nb)


def table_row(name: str, text: str, n_values: int) -> list[float]:
    match = re.search(rf"^{re.escape(name)}\s+" + r"\s+".join([r"(inf|[\d.]+)"] * n_values) + r"\s*$",
                      text, flags=re.MULTILINE)
    assert match, f"table row {name!r} with {n_values} numbers not printed"
    return [float(v) for v in match.groups()]


def test_runs_cleanly_with_figures(nb):
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, f"cells raised: {[e.get('ename') for e in errors]}"
    # sparsity plot, perplexity-vs-n plot, training curves
    assert count_images(nb) >= 3, f"expected at least 3 figures, found {count_images(nb)}"


def test_corpus_and_counting_examples(out):
    for split in ("train", "valid", "test"):
        assert re.search(rf"^{split}\s*:\s+\d+ sentences,\s+\d+ tokens", out, re.MULTILINE), split
    assert "P(i am a student) = P(i) * P(am | i) * P(a | i am) * P(student | i am a)" in out
    p_the = number(r"start with 'the': P = ([\d.]+)%", out)
    assert 10 < p_the < 35, f"share of sentences starting with 'the' is {p_the}%"
    # whole-history counting and the bigram model both give the example probability 0
    assert re.search(r"^P\(i am a student\) = 0\.0$", out, re.MULTILINE)
    assert re.search(r"^bigram P\(i am a student\) = 0\.0$", out, re.MULTILINE)


def test_sparsity_grows_with_n(out):
    rows = re.findall(r"^\s*([1-4])\s+([\d.]+)%\s+([\d.]+)%\s*$", out, flags=re.MULTILINE)
    assert [int(r[0]) for r in rows] == [1, 2, 3, 4], f"sparsity table rows not found: {rows}"
    raw = [float(r[1]) for r in rows]
    unk = [float(r[2]) for r in rows]
    assert all(a < b for a, b in zip(raw, raw[1:])), f"raw unseen share must grow with n: {raw}"
    assert all(a < b for a, b in zip(unk, unk[1:])), f"unseen share with <unk> must grow with n: {unk}"
    assert unk[0] == 0.0, "with <unk>, no test unigram is unseen"
    assert all(r >= u for r, u in zip(raw, unk)), "mapping rare words to <unk> can only reduce sparsity"
    assert 0 < raw[0] < 20 and raw[3] > 70 and unk[2] > 40, (raw, unk)


def test_unsmoothed_model_gives_zero_probability_and_infinite_perplexity(out):
    assert re.search(r"^trigram P\(sentence\) = 0\.0$", out, re.MULTILINE)
    assert re.search(r"^unseen trigrams: \['", out, re.MULTILINE)
    n_zero = number(r"^(\d+) of \d+ test sentences .* get probability 0", out)
    assert n_zero >= 1
    assert number(r"^unsmoothed 1-gram: perplexity ([\d.]+)", out) < 1000
    for n in (2, 3, 4):
        assert re.search(rf"^unsmoothed {n}-gram: perplexity inf over \d+ test tokens", out, re.MULTILINE), n
    uniform = number(r"^uniform over V: ([\d.]+)", out)
    assert uniform == number(r"\(V = (\d+)\)", out), "a uniform model's perplexity equals V"


def test_smoothed_distributions_sum_to_one(out):
    for name in (r"P\(w \| said the\), k=0.5", r"P_KN\(w \| said the\)"):
        total = number(rf"sum over w of {name}: ([\d.]+)", out)
        assert abs(total - 1.0) < 1e-6, f"{name} sums to {total}"


def test_ngram_perplexity_table(out):
    unsmoothed = table_row("unsmoothed", out, 4)
    add1 = table_row("add-1", out, 4)
    addk = table_row("add-k", out, 4)
    kn = table_row("Kneser-Ney", out, 4)
    assert math.isfinite(unsmoothed[0]) and all(math.isinf(v) for v in unsmoothed[1:])
    for row in (add1, addk, kn):
        assert all(math.isfinite(v) for v in row)
        assert 200 < row[0] < 400, f"unigram perplexity out of range: {row}"
    assert all(a < b for a, b in zip(add1, add1[1:])), f"add-1 gets worse with every order: {add1}"
    assert addk[1] < addk[0] and addk[1] < addk[2] < addk[3], f"add-k is best at n=2: {addk}"
    assert all(k <= a for k, a in zip(addk, add1)), "k tuned on validation should not lose to k=1"
    assert all(kn[n] < 0.7 * addk[n] for n in (1, 2, 3)), f"Kneser-Ney beats add-k clearly: {kn} vs {addk}"
    assert 60 < min(kn[1:]) < 130 and kn[2] < kn[1], f"Kneser-Ney perplexities out of range: {kn}"
    assert 100 < addk[1] < 300 and 1000 < add1[3] < 5000, (addk, add1)


def test_samples_printed(out):
    for n in (2, 3):
        samples = re.findall(rf"^{n}-gram: (.+)$", out, flags=re.MULTILINE)
        assert len(samples) >= 3 and all(len(s.split()) >= 1 for s in samples), samples


def test_neural_lm_against_ngrams(out):
    initial = number(r"initial loss ([\d.]+)", out)
    log_v = number(r"log\(vocab size\) = ([\d.]+)", out)
    assert abs(initial - log_v) < 0.5, "an untrained model should be close to a uniform guess"
    epochs = number(r"^(\d+) epochs in [\d.]+ s, best epoch \d+", out)
    assert epochs >= 3
    n_tokens = number(r"model \(test split, (\d+) tokens\)", out)
    assert n_tokens == number(r"unsmoothed 1-gram: perplexity [\d.]+ over (\d+) test tokens", out), \
        "the neural and n-gram models must be scored on the same number of test tokens"
    neural = number(r"^neural window LM, 3 words\s+([\d.]+)", out)
    addk_best = number(r"^add-k, best n\s+([\d.]+)", out)
    kn_best = number(r"^Kneser-Ney, best n\s+([\d.]+)", out)
    unigram = number(r"^unigram \(unsmoothed\)\s+([\d.]+)", out)
    assert 60 < neural < 140, f"neural test perplexity {neural} out of the measured range"
    assert neural < 0.8 * addk_best and neural < 0.5 * unigram, (neural, addk_best, unigram)
    assert neural < 1.5 * kn_best, f"neural LM ({neural}) should be close to Kneser-Ney ({kn_best})"
    mixed = number(r"mixed test perplexity ([\d.]+)", out)
    assert mixed < min(neural, kn_best), f"the mixture ({mixed}) should beat both ({neural}, {kn_best})"


def test_embedding_neighbours(out):
    match = re.search(r"^\s*would \(\s*\d+x\): (.+)$", out, flags=re.MULTILINE)
    assert match, "nearest neighbours of 'would' not printed"
    neighbours = set(match.group(1).split(", "))
    assert neighbours & {"will", "could", "might", "should", "must", "can", "may"}, \
        f"'would' should be near another modal verb, got {neighbours}"
