"""A synthetic translation task whose word order changes, for sequence-to-sequence models.

Introduced in chapter 6. The pairs are **synthetic**: English-like sentences with
subject-verb-object order are "translated" into a stand-in for Korean word order, subject-object-
verb, with the words replaced by romanised Korean dictionary words and the subject and object
marked by particles. The grammar is deliberately simplified (no conjugation, one form of each
particle, no articles in the target), so it is a translation-*like* task, not Korean::

    source: the big dog chases a small cat and the girl sees the old horse
    target: keun gae neun jageun goyangi reul jjotneunda geurigo sonyeo neun neulgeun mal reul bonda

Why this task teaches attention:

- the length varies (by default one to three clauses, 5 to 23 source tokens), so a model that squeezes the
  source into one fixed-size vector has more to remember in longer sentences;
- the alignment is not the identity: articles have no translation, particles have no source
  word, and the verb moves to the end of its clause, after the object;
- every content word is translated one to one, so :func:`alignment` knows, for each target word,
  the source position it comes from, and a learned attention map can be scored against it.

:func:`make_splits` returns train / validation / test sets whose *source sentences are disjoint*:
a test sentence never occurs in training (a real held-out set, not a re-draw of the same pairs).
"""
from __future__ import annotations

import random
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import torch

from seqlab.text import BOS, EOS, PAD, UNK, Vocab
from seqlab.train import IGNORE_INDEX

# English word -> romanised Korean stand-in (dictionary forms; a simplification, see above).
NOUNS = {"dog": "gae", "cat": "goyangi", "bird": "sae", "boy": "sonyeon", "girl": "sonyeo",
         "teacher": "seonsaengnim", "doctor": "uisa", "farmer": "nongbu", "child": "ai",
         "friend": "chingu", "horse": "mal", "fox": "yeou"}
ADJECTIVES = {"big": "keun", "small": "jageun", "old": "neulgeun", "young": "eorin",
              "happy": "haengbokan", "tired": "pigonhan", "clever": "ttokttokan", "brave": "yonggamhan",
              "hungry": "baegopeun", "kind": "chinjeolhan"}
VERBS = {"sees": "bonda", "likes": "joahanda", "chases": "jjotneunda", "helps": "dopneunda",
         "follows": "ttareunda", "calls": "bureunda"}
ARTICLES = ("the", "a", "an")    # "an" before a vowel; articles have no translation
AND_SOURCE, AND_TARGET = "and", "geurigo"
SUBJECT, OBJECT = "neun", "reul"    # topic/subject and object particles (one form each here)
LEXICON = {**NOUNS, **ADJECTIVES, **VERBS, AND_SOURCE: AND_TARGET}
SPECIALS = (PAD, UNK, BOS, EOS)     # ids 0, 1, 2, 3 in both vocabularies


@dataclass(frozen=True)
class Pair:
    """One sentence pair. ``alignment[j]`` is the source position that target token ``j``
    translates, or ``-1`` for a particle (no source word)."""

    source: tuple[str, ...]
    target: tuple[str, ...]
    alignment: tuple[int, ...]
    clauses: int


def _noun_phrase(rng: random.Random, max_adjectives: int) -> list[str]:
    """``article adjective* noun`` with 0..max_adjectives distinct adjectives."""
    adjectives = rng.sample(sorted(ADJECTIVES), rng.randint(0, max_adjectives))
    words = [*adjectives, rng.choice(sorted(NOUNS))]
    article = rng.choice(("the", "a"))
    if article == "a" and words[0][0] in "aeiou":
        article = "an"
    return [article, *words]


def translate(source: Sequence[str]) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """The target sentence of ``source`` (a sentence of this grammar) and its alignment.

    Each clause ``S V O`` becomes ``S' neun O' reul V'`` where ``X'`` is ``X`` word by word
    without articles; clauses stay in order, joined by ``geurigo``.
    """
    target: list[str] = []
    align: list[int] = []
    clause_starts = [0] + [i + 1 for i, w in enumerate(source) if w == AND_SOURCE]
    clause_ends = [i for i, w in enumerate(source) if w == AND_SOURCE] + [len(source)]
    for k, (start, end) in enumerate(zip(clause_starts, clause_ends)):
        verbs = [i for i in range(start, end) if source[i] in VERBS]
        if len(verbs) != 1:
            raise ValueError(f"each clause needs exactly one verb: {' '.join(source[start:end])!r}")
        v = verbs[0]
        if k > 0:
            target.append(AND_TARGET)
            align.append(start - 1)
        for lo, hi, particle in ((start, v, SUBJECT), (v + 1, end, OBJECT)):
            for i in range(lo, hi):
                if source[i] in ARTICLES:
                    continue
                if source[i] not in LEXICON:
                    raise ValueError(f"unknown word {source[i]!r}")
                target.append(LEXICON[source[i]])
                align.append(i)
            target.append(particle)
            align.append(-1)
        target.append(LEXICON[source[v]])
        align.append(v)
    return tuple(target), tuple(align)


def make_pair(rng: random.Random, clauses: int, max_adjectives: int = 2) -> Pair:
    """One random pair with ``clauses`` clauses (each noun phrase has 0..max_adjectives adjectives)."""
    if clauses < 1:
        raise ValueError(f"clauses must be >= 1, got {clauses}")
    source: list[str] = []
    for k in range(clauses):
        if k > 0:
            source.append(AND_SOURCE)
        source += _noun_phrase(rng, max_adjectives) + [rng.choice(sorted(VERBS))] + _noun_phrase(rng, max_adjectives)
    target, align = translate(source)
    return Pair(tuple(source), target, align, clauses)


def make_pairs(n: int, seed: int = 0, min_clauses: int = 1, max_clauses: int = 3, max_adjectives: int = 1,
               exclude: Collection[tuple[str, ...]] = ()) -> list[Pair]:
    """``n`` distinct pairs, the number of clauses uniform in ``min_clauses..max_clauses`` and
    0..``max_adjectives`` adjectives per noun, reproducible from ``seed``. Sources in ``exclude``
    (tuples of tokens) are never returned."""
    if n < 0 or not 1 <= min_clauses <= max_clauses:
        raise ValueError(f"need n >= 0 and 1 <= min_clauses <= max_clauses, got {n}, {min_clauses}, {max_clauses}")
    rng = random.Random(seed)
    seen = set(exclude)
    pairs: list[Pair] = []
    attempts = 0
    while len(pairs) < n:
        attempts += 1
        if attempts > 20 * n + 1000:
            raise ValueError(f"could not find {n} new distinct pairs (the grammar is too small for that)")
        pair = make_pair(rng, rng.randint(min_clauses, max_clauses), max_adjectives)
        if pair.source not in seen:
            seen.add(pair.source)
            pairs.append(pair)
    return pairs


def make_splits(n_train: int, n_valid: int, n_test: int, seed: int = 0, min_clauses: int = 1,
                max_clauses: int = 3, max_adjectives: int = 1) -> tuple[list[Pair], list[Pair], list[Pair]]:
    """Train, validation and test pairs with pairwise disjoint source sentences."""
    grammar = dict(min_clauses=min_clauses, max_clauses=max_clauses, max_adjectives=max_adjectives)
    train = make_pairs(n_train, seed, **grammar)
    valid = make_pairs(n_valid, seed + 1, **grammar, exclude={p.source for p in train})
    test = make_pairs(n_test, seed + 2, **grammar, exclude={p.source for p in train} | {p.source for p in valid})
    return train, valid, test


def vocabularies() -> tuple[Vocab, Vocab]:
    """Source and target vocabularies of the whole grammar, so that a held-out sentence never
    contains ``<unk>``. Ids 0-3 are ``<pad>``, ``<unk>``, ``<s>``, ``</s>``; then the words in
    sorted order."""
    source_words = sorted({*NOUNS, *ADJECTIVES, *VERBS, *ARTICLES, AND_SOURCE})
    target_words = sorted({*LEXICON.values(), SUBJECT, OBJECT})
    return Vocab(source_words, SPECIALS), Vocab(target_words, SPECIALS)


def encode_pairs(pairs: Sequence[Pair], source_vocab: Vocab, target_vocab: Vocab,
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Tensors for teacher forcing, ready for :func:`seqlab.text.make_loader`.

    Returns ``(src, src_lengths, tgt_in, tgt_out)``::

        src      (N, S)  source ids, padded with <pad> = 0
        src_lengths (N,) number of real source tokens
        tgt_in   (N, T)  <s> y_1 ... y_m, padded with <pad>      (what the decoder reads)
        tgt_out  (N, T)  y_1 ... y_m </s>, padded with -100      (what it must predict)

    ``T = 1 + the longest target``; -100 is :data:`seqlab.train.IGNORE_INDEX`, so padding is left
    out of the loss and of the token accuracy.
    """
    if not pairs:
        raise ValueError("encode_pairs needs at least one pair")
    S = max(len(p.source) for p in pairs)
    T = 1 + max(len(p.target) for p in pairs)
    src = torch.full((len(pairs), S), source_vocab.pad_id, dtype=torch.long)
    src_lengths = torch.zeros(len(pairs), dtype=torch.long)
    tgt_in = torch.full((len(pairs), T), target_vocab.pad_id, dtype=torch.long)
    tgt_out = torch.full((len(pairs), T), IGNORE_INDEX, dtype=torch.long)
    bos, eos = target_vocab.stoi[BOS], target_vocab.stoi[EOS]
    for row, pair in enumerate(pairs):
        ids = source_vocab.encode(pair.source)
        src[row, :len(ids)] = torch.tensor(ids)
        src_lengths[row] = len(ids)
        out = target_vocab.encode(pair.target)
        tgt_in[row, :len(out) + 1] = torch.tensor([bos] + out)
        tgt_out[row, :len(out) + 1] = torch.tensor(out + [eos])
    return src, src_lengths, tgt_in, tgt_out


def strip_special(ids: Sequence[int], vocab: Vocab) -> list[str]:
    """Decoded tokens up to (not including) the first ``</s>``, with ``<s>`` and ``<pad>`` dropped."""
    words = []
    for token in vocab.decode(ids):
        if token == EOS:
            break
        if token not in (BOS, PAD):
            words.append(token)
    return words
