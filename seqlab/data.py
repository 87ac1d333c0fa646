"""Bundled corpora (offline) and their splits. Introduced in chapter 1.

Real text comes from the small test corpora that ship inside gensim's wheel, so the book and the
exercises need no network. The Lee corpus (``lee_background.cor``) is 300 Australian news
articles (293 distinct) from 2001-2002, one per line, about 60,000 words.
"""
from __future__ import annotations

import random
from pathlib import Path

from seqlab.text import split_sentences, tokenize

# Files gensim ships in gensim/test/test_data that the course uses.
BUNDLED = {
    "lee_background.cor": "Lee news corpus: 300 articles, one per line",
    "lee.cor": "Lee news corpus: 50 further articles, one per line",
    "pang_lee_polarity.cor": "movie-review sentences labelled __label__pos / __label__neg",
    "questions-words.txt": "word-analogy questions (Mikolov et al.)",
    "simlex999.txt": "SimLex-999 word-similarity judgements",
    "test_glove.txt": "a small file in GloVe's text format",
    "lee_fasttext.bin": "a fastText model trained on the Lee corpus, Facebook's binary format",
}


def corpus_path(name: str) -> Path:
    """Path of a corpus file bundled with gensim, with a clear error if it is not there."""
    try:
        from gensim.test.utils import datapath
    except ImportError as exc:  # pragma: no cover - exercised only without gensim
        raise ImportError(
            "seqlab's bundled corpora come with gensim: install it with `pip install gensim`"
        ) from exc
    path = Path(datapath(name))
    if not path.is_file():
        raise FileNotFoundError(
            f"bundled corpus {name!r} not found at {path}; your gensim installation does not ship "
            f"its test data. Known files: {', '.join(sorted(BUNDLED))}"
        )
    return path


def load_lee(which: str = "background", unique: bool = True) -> list[str]:
    """The Lee news corpus as a list of documents (raw strings), in file order.

    ``which="background"``: the 300-line corpus; ``which="test"``: the 50 further articles.
    Seven articles of the background corpus appear twice; ``unique=True`` (the default) keeps
    only the first copy (293 articles), so a held-out split never contains an article that is
    also in the training split.
    """
    files = {"background": "lee_background.cor", "test": "lee.cor"}
    if which not in files:
        raise ValueError(f"which must be one of {sorted(files)}, got {which!r}")
    text = corpus_path(files[which]).read_text(encoding="utf-8", errors="replace")
    docs = [line.strip() for line in text.splitlines() if line.strip()]
    return list(dict.fromkeys(docs)) if unique else docs


def lee_sentences(
    split: str = "train",
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
    seed: int = 0,
    lower: bool = True,
) -> list[list[str]]:
    """Tokenised sentences of the Lee corpus, split into train / valid / test **by article**.

    Splitting by (distinct) article, not by sentence, keeps held-out text genuinely unseen:
    sentences of one article share names and phrases. The split is a seeded shuffle of the 300 articles, so
    every chapter and exercise that asks for ``split="test"`` gets the same sentences.
    The 293 distinct articles split 234 / 29 / 30 with the default fractions.
    """
    if split not in ("train", "valid", "test"):
        raise ValueError(f"split must be 'train', 'valid' or 'test', got {split!r}")
    if abs(sum(fractions) - 1.0) > 1e-9 or min(fractions) < 0:
        raise ValueError(f"fractions must be non-negative and sum to 1, got {fractions}")
    docs = load_lee("background")
    order = list(range(len(docs)))
    random.Random(seed).shuffle(order)
    n_train = round(fractions[0] * len(docs))
    n_valid = round(fractions[1] * len(docs))
    bounds = {"train": (0, n_train), "valid": (n_train, n_train + n_valid),
              "test": (n_train + n_valid, len(docs))}
    lo, hi = bounds[split]
    return [tokenize(sentence, lower=lower)
            for i in sorted(order[lo:hi])
            for sentence in split_sentences(docs[i])]


def load_polarity() -> list[tuple[str, int]]:
    """Pang & Lee movie-review sentences bundled with gensim: ``(text, label)`` with label 1 for
    positive and 0 for negative."""
    rows = []
    for line in corpus_path("pang_lee_polarity.cor").read_text(encoding="cp1252", errors="replace").splitlines():
        if not line.strip():
            continue
        label, _, text = line.partition(" ")
        if label not in ("__label__pos", "__label__neg"):
            raise ValueError(f"unexpected label {label!r} in pang_lee_polarity.cor")
        rows.append((text.strip(), int(label == "__label__pos")))
    return rows
