"""seqlab.ngram: interpolated Kneser-Ney is a proper distribution, equals Chapter 1's and Chapter 2's
inline recipes, and scores exactly the tokens the chapters score."""
from __future__ import annotations

import math
from collections import Counter, defaultdict

import numpy as np
import pytest

from seqlab.ngram import KneserNey, ngram_events
from seqlab.text import BOS, EOS

CORPUS = [s.split() for s in ("the cat sat on the mat", "the dog sat on the log", "a cat and a dog",
                              "san francisco is big", "san francisco is far", "the cat is big")]
WORDS = sorted({w for s in CORPUS for w in s}) + [EOS]   # predictable: every word and </s>


def test_ngram_events_pad_per_order():
    assert ngram_events(["a", "b"], 1) == [((), "a"), ((), "b"), ((), EOS)]
    assert ngram_events(["a", "b"], 3) == [((BOS, BOS), "a"), ((BOS, "a"), "b"), (("a", "b"), EOS)]
    with pytest.raises(ValueError):
        ngram_events(["a"], 0)


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_sentence_model_sums_to_one(order):
    kn = KneserNey(order, len(WORDS)).fit_sentences(CORPUS)
    for context in [(), ("the",), (BOS, "the"), ("sat", "on", "the"), ("never", "seen"), (BOS, BOS, BOS)]:
        total = sum(kn.prob(w, context) for w in WORDS)
        assert math.isclose(total, 1.0, abs_tol=1e-9), (order, context, total)


def test_stream_model_sums_to_one_and_scores_every_token_after_the_first():
    text = "abracadabra cadabra abra"
    chars = sorted(set(text))
    kn = KneserNey(4, len(chars)).fit_stream(text)
    for context in ["", "a", "ab", "bra", "zzz", "ra "]:
        assert math.isclose(sum(kn.prob(c, context) for c in chars), 1.0, abs_tol=1e-9), context
    logp = kn.stream_logprobs("abra cad")
    assert logp.shape == (7,) and np.all(logp < 0)


def test_continuation_counts_discount_words_seen_after_one_context_only():
    """'francisco' is as frequent as 'cat' but only ever follows 'san': as a guess after a new
    context it gets less probability than 'cat', which follows several words."""
    kn = KneserNey(2, len(WORDS)).fit_sentences(CORPUS)
    assert kn.counts[1][()]["francisco"] == 2 and kn.cont[1][()]["francisco"] == 1
    assert kn.prob("francisco", ("unseen",)) < kn.prob("cat", ("unseen",))


def test_lower_order_on_the_same_counts_equals_a_model_fitted_at_that_order():
    high = KneserNey(4, len(WORDS)).fit_sentences(CORPUS)
    test = [s.split() for s in ("the cat sat on the log", "a dog is far")]
    for order in (1, 2, 3):
        low = KneserNey(order, len(WORDS)).fit_sentences(CORPUS)
        assert np.allclose(high.sentence_logprobs(test, order=order), low.sentence_logprobs(test))
        assert len(high.sentence_logprobs(test, order=order)) == sum(len(s) + 1 for s in test)


def _chapter_1_kn(sentences, order, V, D=0.75):
    """Chapter 1's inline recursion (cells 'count n-grams', 'continuation counts', 'p_kn'), verbatim in substance."""
    counts = {}
    for n in range(1, order + 1):
        table = defaultdict(Counter)
        for s in sentences:
            for h, w in ngram_events(s, n):
                table[h][w] += 1
        counts[n] = dict(table)
    totals = {n: {h: sum(c.values()) for h, c in counts[n].items()} for n in counts}
    cont = {}
    for n in range(1, order):
        table = defaultdict(Counter)
        for h, followers in counts[n + 1].items():
            for w in followers:
                table[h[1:]][w] += 1
        cont[n] = dict(table)
    cont_totals = {n: {h: sum(c.values()) for h, c in cont[n].items()} for n in cont}

    def p_kn(word, context, top=True):
        n = len(context) + 1
        lower = p_kn(word, context[1:], top=False) if n > 1 else 1 / V
        table, table_totals = (counts[n], totals[n]) if top else (cont[n], cont_totals[n])
        total = table_totals.get(context, 0)
        if total == 0:
            return lower
        followers = table[context]
        return (max(followers.get(word, 0) - D, 0) + D * len(followers) * lower) / total
    return p_kn


def test_equals_chapter_1s_recipe_on_the_lee_corpus():
    from seqlab.data import lee_sentences
    from seqlab.text import PAD, UNK, Vocab
    train, test = lee_sentences("train"), lee_sentences("test")
    vocab = Vocab.build(train, min_freq=2)
    V = len([w for w in vocab.itos if w not in (PAD, BOS)])
    unk = lambda ss: [[w if w in vocab else UNK for w in s] for s in ss]   # noqa: E731
    train_u, test_u = unk(train), unk(test[:60])
    p_kn = _chapter_1_kn(train_u, 3, V)
    expected = np.array([math.log(p_kn(w, h)) for s in test_u for h, w in ngram_events(s, 3)])
    got = KneserNey(3, V).fit_sentences(train_u).sentence_logprobs(test_u)
    assert np.allclose(got, expected, rtol=0, atol=1e-12)


def test_stream_equals_chapter_2s_recipe():
    """Chapter 2 counts n-grams of one text with no padding and scores text[i] from text[max(0, i-n+1):i]."""
    text, test = "the cat sat on the mat. the dog sat on the log.", "the cat sat on the log."
    chars = sorted(set(text))
    n, D = 3, 0.75
    counts = {m: defaultdict(Counter) for m in range(1, n + 1)}
    for m in counts:
        for i in range(m - 1, len(text)):
            counts[m][text[i - m + 1:i]][text[i]] += 1
    cont = {m: defaultdict(Counter) for m in range(1, n)}
    for m in cont:
        for h, followers in counts[m + 1].items():
            for c in followers:
                cont[m][h[1:]][c] += 1

    def p(c, h, top=True):
        m = len(h) + 1
        lower = p(c, h[1:], False) if m > 1 else 1 / len(chars)
        table = counts if top else cont
        total = sum(table[m][h].values()) if h in table[m] else 0
        if total == 0:
            return lower
        return (max(table[m][h].get(c, 0) - D, 0) + D * len(table[m][h]) * lower) / total
    expected = [math.log(p(test[i], test[max(0, i - n + 1):i])) for i in range(1, len(test))]
    assert np.allclose(KneserNey(n, len(chars)).fit_stream(text).stream_logprobs(test), expected, atol=1e-12)


def test_errors():
    with pytest.raises(RuntimeError, match="fit"):
        KneserNey(2, 5).prob("a")
    with pytest.raises(ValueError):
        KneserNey(0, 5)
    with pytest.raises(ValueError):
        KneserNey(2, 5, discount=1.5)
    kn = KneserNey(2, len(WORDS)).fit_sentences(CORPUS)
    with pytest.raises(ValueError, match="order"):
        kn.sentence_logprobs(CORPUS, order=3)
    assert KneserNey.perplexity(np.log(np.full(10, 0.25))) == pytest.approx(4.0)
