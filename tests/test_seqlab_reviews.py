"""seqlab.reviews: the synthetic review corpus is reproducible, balanced, and built so that word
order (not word choice) decides the label of negated and contrasted reviews."""
from __future__ import annotations

import math
from collections import Counter

import pytest

from seqlab.reviews import (KINDS, NEGATIVE, POSITIVE, Review, drop_missing, is_missing,
                            make_reviews)
from seqlab.text import tokenize


def test_reproducible_and_seed_dependent():
    a, b = make_reviews(200, seed=3), make_reviews(200, seed=3)
    assert a == b
    assert [r.text for r in make_reviews(200, seed=4)] != [r.text for r in a]


def test_kinds_labels_and_lengths():
    reviews = make_reviews(4000, seed=0)
    kinds = Counter(r.kind for r in reviews)
    assert set(kinds) == set(KINDS)
    assert 0.45 < kinds["plain"] / 4000 < 0.55 and 0.2 < kinds["negated"] / 4000 < 0.3
    labels = Counter(r.label for r in reviews)
    assert 0.45 < labels[1] / 4000 < 0.55
    lengths = [len(tokenize(r.text)) for r in reviews]
    assert min(lengths) >= 4 and max(lengths) <= 40


def _polar(tokens, words):
    return [t for t in tokens if t in words]


def test_labels_follow_the_templates():
    for r in make_reviews(1000, seed=1):
        tokens = tokenize(r.text)
        pos, neg = _polar(tokens, POSITIVE), _polar(tokens, NEGATIVE)
        if r.kind == "plain":
            assert (pos and not neg) if r.label == 1 else (neg and not pos), r.text
        elif r.kind == "negated":
            assert {"not", "nobody", "never"} & set(tokens), r.text
            assert (neg and not pos) if r.label == 1 else (pos and not neg), r.text
            negation = min(i for i, t in enumerate(tokens) if t in {"not", "nobody", "never"})
            adjective = max(i for i, t in enumerate(tokens) if t in POSITIVE + NEGATIVE)
            assert adjective - negation >= 1, r.text
        else:
            assert tokens.count("but") == 1 and pos and neg, r.text
            after = tokens[tokens.index("but"):]
            assert _polar(after, POSITIVE if r.label == 1 else NEGATIVE), r.text


def test_negated_reviews_are_far_from_their_adjective_on_average():
    gaps = []
    for r in make_reviews(1000, seed=2, kinds=("negated",)):
        tokens = tokenize(r.text)
        negation = min(i for i, t in enumerate(tokens) if t in {"not", "nobody", "never"})
        adjective = max(i for i, t in enumerate(tokens) if t in POSITIVE + NEGATIVE)
        gaps.append(adjective - negation)
    assert sum(gaps) / len(gaps) > 4 and max(gaps) >= 9


def test_every_negated_frame_has_an_affirmative_twin():
    """A bag of words cannot tell negated from plain reviews by their frame words alone."""
    plain = Counter(t for r in make_reviews(3000, seed=5, kinds=("plain",)) for t in tokenize(r.text))
    negated = Counter(t for r in make_reviews(3000, seed=5, kinds=("negated",)) for t in tokenize(r.text))
    only_negated = set(negated) - set(plain)
    assert only_negated <= {"not", "nobody", "never", "claim", "at", "all", "any", "way", "single",
                            "minute"}, only_negated


def test_missing_texts_and_drop_missing():
    reviews = make_reviews(2000, seed=0, missing=0.02)
    missing = [r for r in reviews if is_missing(r.text)]
    assert 10 < len(missing) < 80
    assert all(isinstance(r.text, float) and math.isnan(r.text) for r in missing)
    with pytest.raises(AttributeError, match="'float' object has no attribute 'lower'"):
        tokenize(missing[0].text)            # the crash that dropping them avoids
    kept = drop_missing(reviews)
    assert len(kept) == len(reviews) - len(missing)
    assert all(isinstance(r.text, str) for r in kept)
    assert is_missing(None) and not is_missing("fine") and not is_missing(0.5)


def test_argument_checks():
    assert make_reviews(0) == []
    assert {r.kind for r in make_reviews(50, kinds=("contrast",))} == {"contrast"}
    with pytest.raises(ValueError):
        make_reviews(5, kinds=("sarcasm",))
    with pytest.raises(ValueError):
        make_reviews(5, kinds=("plain", "negated"), weights=(1.0,))
    with pytest.raises(ValueError):
        make_reviews(5, missing=1.5)
    assert isinstance(make_reviews(1)[0], Review)


# ---------------------------------------------------------------- chapter 5: held-out adjectives

from seqlab.reviews import (HELDOUT_NEGATIVE, HELDOUT_POSITIVE, SEEN_NEGATIVE,  # noqa: E402
                            SEEN_POSITIVE, make_unlabelled_reviews)


def test_adjective_halves_split_the_lists():
    assert len(SEEN_POSITIVE) == len(HELDOUT_POSITIVE) == len(SEEN_NEGATIVE) == len(HELDOUT_NEGATIVE) == 5
    assert sorted(SEEN_POSITIVE + HELDOUT_POSITIVE) == sorted(POSITIVE)
    assert sorted(SEEN_NEGATIVE + HELDOUT_NEGATIVE) == sorted(NEGATIVE)


def test_default_adjectives_are_unchanged():
    """adjectives="all" is the default and gives chapter 4's reviews byte for byte."""
    import hashlib
    digest = hashlib.sha256()
    for seed in range(5):
        for r in make_reviews(500, seed=seed, missing=0.02):
            digest.update(repr(r).encode())
    assert digest.hexdigest() == "668ea204da916a0970cafd548a81230d9e5eee478597c4bd044920a8f8bf30ea"
    assert make_reviews(300, seed=7) == make_reviews(300, seed=7, adjectives="all")


@pytest.mark.parametrize("which,pos,neg", [("seen", SEEN_POSITIVE, SEEN_NEGATIVE),
                                           ("heldout", HELDOUT_POSITIVE, HELDOUT_NEGATIVE)])
def test_seen_and_heldout_reviews_use_only_their_half(which, pos, neg):
    reviews = make_reviews(2000, seed=11, adjectives=which)
    used = {t for r in reviews for t in tokenize(r.text) if t in POSITIVE + NEGATIVE}
    assert used == set(pos) | set(neg)                     # every word of the half, no other
    for r in reviews:                                     # the labels still follow the templates
        tokens = tokenize(r.text)
        p, n = _polar(tokens, pos), _polar(tokens, neg)
        if r.kind == "plain":
            assert (p and not n) if r.label == 1 else (n and not p), r.text
        elif r.kind == "negated":
            assert (n and not p) if r.label == 1 else (p and not n), r.text
    assert {r.kind for r in reviews} == set(KINDS)
    assert make_reviews(100, seed=1, adjectives=which) == make_reviews(100, seed=1, adjectives=which)
    with pytest.raises(ValueError, match="adjectives"):
        make_reviews(5, adjectives="rare")


def test_unlabelled_reviews_repeat_one_polarity():
    texts = make_unlabelled_reviews(3000, seed=0)
    assert len(texts) == 3000 and all(isinstance(t, str) for t in texts)
    assert texts == make_unlabelled_reviews(3000, seed=0) and texts != make_unlabelled_reviews(3000, seed=1)
    n_positive = 0
    for text in texts:
        tokens = tokenize(text)
        pos, neg = _polar(tokens, POSITIVE), _polar(tokens, NEGATIVE)
        assert bool(pos) != bool(neg), text               # one polarity only
        assert len(set(pos or neg)) >= 2, text            # two or more different sentiment words
        assert not {"not", "but", "never", "nobody"} & set(tokens), text
        n_positive += bool(pos)
    assert 0.45 < n_positive / 3000 < 0.55
    # both halves occur, and seen and held-out words occur in the same text
    all_tokens = Counter(t for text in texts for t in tokenize(text))
    assert all(all_tokens[w] > 100 for w in POSITIVE + NEGATIVE)
    mixed = sum(1 for text in texts
                if set(tokenize(text)) & set(SEEN_POSITIVE + SEEN_NEGATIVE)
                and set(tokenize(text)) & set(HELDOUT_POSITIVE + HELDOUT_NEGATIVE))
    assert mixed > 0.5 * len(texts)
    assert make_unlabelled_reviews(0) == []
    with pytest.raises(ValueError):
        make_unlabelled_reviews(-1)
