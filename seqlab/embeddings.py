"""Word-embedding data and evaluation: the pretraining corpus, analogy and similarity benchmarks,
GloVe's text format, and FastText-initialised embedding matrices. Introduced in chapter 5.

Everything is offline; the files ship inside gensim's wheel (``gensim.test.utils.datapath``):

- :data:`WIKI_FILE`: 206 pages of an English Wikipedia dump (about 1.7 MB of bz2-compressed XML).
  :func:`pretraining_corpus` keeps the 106 articles gensim's ``WikiCorpus`` keeps (main
  namespace, at least 50 tokens) and adds the Lee news corpus (``lee_background.cor``):
  about 0.5 million tokens of real, unstemmed text.
- ``questions-words.txt``: 19,544 analogy questions (Mikolov et al., 2013), 14 sections.
- ``simlex999.txt`` and ``wordsim353.tsv``: word pairs with human similarity scores.

Reproducible gensim models: gensim seeds each word's initial vector with ``hashfxn(word + str(seed))``
and its default ``hashfxn`` is Python's :func:`hash`, which is salted per process for strings
(unless ``PYTHONHASHSEED`` is fixed). Pass ``hashfxn=stable_hash`` and ``workers=1`` (with a fixed
``seed``) and a model trains to the same vectors in every process.
"""
from __future__ import annotations

import bz2
import functools
import hashlib
import os
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import torch

from seqlab.data import corpus_path, load_lee
from seqlab.text import split_sentences

WIKI_FILE = "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"
ANALOGY_FILE = "questions-words.txt"
SIMILARITY_FILES = {"simlex": "simlex999.txt", "wordsim": "wordsim353.tsv"}

# What gensim's WikiCorpus keeps: namespace 0, no redirects, at least this many tokens, and
# tokens of 2 to 15 characters (letters only, lower case).
ARTICLE_MIN_TOKENS = 50
TOKEN_MIN_LEN, TOKEN_MAX_LEN = 2, 15


def stable_hash(text: str) -> int:
    """A hash of ``text`` that is the same in every process (unlike :func:`hash` on strings).

    Pass it as ``hashfxn=stable_hash`` to gensim's ``Word2Vec`` / ``FastText`` so that, with
    ``workers=1`` and a fixed ``seed``, training is reproducible run to run.
    """
    return int.from_bytes(hashlib.md5(text.encode("utf-8")).digest()[:4], "little")


def words(sentence: str) -> list[str]:
    """Lower-case word tokens of ``sentence`` as gensim's ``WikiCorpus`` makes them.

    Letters only (digits and punctuation dropped), 2 to 15 characters long.
    """
    from gensim.utils import tokenize as gensim_tokenize

    return [t for t in gensim_tokenize(sentence, lower=True, errors="ignore")
            if TOKEN_MIN_LEN <= len(t) <= TOKEN_MAX_LEN and not t.startswith("_")]


def _text_sentences(text: str) -> list[list[str]]:
    sentences = []
    for paragraph in text.splitlines():
        paragraph = paragraph.strip()
        if not paragraph or paragraph.startswith("="):   # blank lines and section headings
            continue
        for sentence in split_sentences(paragraph):
            tokens = words(sentence)
            if tokens:
                sentences.append(tokens)
    return sentences


@functools.lru_cache(maxsize=1)
def _wiki_articles() -> tuple[tuple[str, tuple[tuple[str, ...], ...]], ...]:
    from gensim.corpora.wikicorpus import IGNORED_NAMESPACES, extract_pages, filter_wiki

    articles = []
    with bz2.open(corpus_path(WIKI_FILE), "rb") as f:
        for title, text, _pageid in extract_pages(f, filter_namespaces=("0",)):
            if any(title.startswith(ns + ":") for ns in IGNORED_NAMESPACES):
                continue
            if text.lstrip()[:9].lower() == "#redirect":
                continue
            plain = filter_wiki(text)
            sentences = _text_sentences(plain.replace("'''", "").replace("''", ""))
            if sum(len(s) for s in sentences) < ARTICLE_MIN_TOKENS:
                continue
            articles.append((title, tuple(tuple(s) for s in sentences)))
    return tuple(articles)


def wiki_articles() -> list[tuple[str, list[list[str]]]]:
    """The kept Wikipedia articles as ``(title, tokenised sentences)``, in file order (cached)."""
    return [(title, [list(s) for s in sentences]) for title, sentences in _wiki_articles()]


@functools.lru_cache(maxsize=1)
def _lee_sentences() -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(s) for doc in load_lee("background") for s in _text_sentences(doc))


def pretraining_corpus(include_lee: bool = True) -> list[list[str]]:
    """Tokenised, lower-case sentences for training word vectors (real text, offline).

    The Wikipedia articles of :data:`WIKI_FILE` that gensim's ``WikiCorpus`` keeps (106 of the
    206 pages), read with gensim's streaming page reader and wiki-markup filter, split into
    sentences; then, with ``include_lee``, the 293 distinct Lee news articles. Tokens are words
    of letters only, 2-15 characters (as ``WikiCorpus`` makes them). The parsed corpus is cached
    in memory, so a second call is fast; each call returns a fresh list.
    """
    sentences = [list(s) for _title, article in _wiki_articles() for s in article]
    if include_lee:
        sentences += [list(s) for s in _lee_sentences()]
    return sentences


# ----------------------------------------------------------------------------- evaluation


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.maximum(norms, 1e-12)


def _kv_index(kv) -> Mapping[str, int]:
    return kv.key_to_index


def analogy_questions(path: str | os.PathLike | None = None) -> list[tuple[str, str, str, str, str]]:
    """The analogy questions as ``(section, a, b, c, d)``, lower-cased: a is to b as c is to d."""
    path = path or corpus_path(ANALOGY_FILE)
    questions, section = [], ""
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            if line.startswith(":"):
                section = line[1:].strip()
                continue
            a, b, c, d = line.lower().split()
            questions.append((section, a, b, c, d))
    return questions


def analogy_ranks(kv, path: str | os.PathLike | None = None, batch_size: int = 1024
                  ) -> tuple[np.ndarray, list[tuple[str, str, str, str, str]], int]:
    """For every covered analogy question a:b :: c:d, the rank of d among the candidates (1 = right).

    Candidates are all words of ``kv`` except a, b and c, ordered by the cosine of their unit
    vector with ``unit(b) - unit(a) + unit(c)`` (3CosAdd). A question is covered when all four
    words are in ``kv``. Returns ``(ranks, covered questions, number of questions)``.
    """
    questions = analogy_questions(path)
    index = _kv_index(kv)
    covered = [q for q in questions if all(w in index for w in q[1:])]
    if not covered:
        return np.zeros(0, dtype=np.int64), [], len(questions)
    unit = _unit_rows(np.asarray(kv.vectors, dtype=np.float32))
    ids = np.asarray([[index[w] for w in q[1:]] for q in covered], dtype=np.int64)
    ranks = np.empty(len(ids), dtype=np.int64)
    for start in range(0, len(ids), batch_size):
        q = ids[start:start + batch_size]
        scores = (unit[q[:, 1]] - unit[q[:, 0]] + unit[q[:, 2]]) @ unit.T      # (batch, V)
        rows = np.arange(len(q))
        for col in range(3):                       # a, b and c are never the answer
            scores[rows, q[:, col]] = -np.inf
        answer = scores[rows, q[:, 3]][:, None]
        ranks[start:start + len(q)] = 1 + (scores > answer).sum(axis=1)
    return ranks, covered, len(questions)


def analogy_accuracy(kv, path: str | os.PathLike | None = None, batch_size: int = 1024
                     ) -> tuple[float, int, int]:
    """3CosAdd analogy accuracy of the vectors ``kv`` (gensim ``KeyedVectors``) on questions-words.

    A question a:b :: c:d is *covered* when all four words are in ``kv``; it is answered right
    when d is the word (other than a, b and c) whose unit vector has the largest cosine with
    ``unit(b) - unit(a) + unit(c)``. Every word of ``kv`` is a candidate. This is the rule of
    gensim's ``evaluate_word_analogies`` with ``restrict_vocab=len(kv)``; gensim's default,
    ``restrict_vocab=300000``, keeps only the first 300,000 words of ``kv`` (the most frequent,
    when ``kv`` is sorted by frequency) both as candidates and for coverage, so for a larger
    vocabulary such as glove.6B's 400,000 words gensim's default numbers differ from these. To
    evaluate on a chosen vocabulary, pass ``restrict_vectors(kv, words)``.
    Returns ``(accuracy on the covered questions, number covered, number of questions)``; the
    accuracy is 0.0 when nothing is covered.
    """
    ranks, covered, total = analogy_ranks(kv, path, batch_size)
    if not covered:
        return 0.0, 0, total
    return float((ranks == 1).mean()), len(covered), total


def restrict_vectors(kv, words: Iterable[str]):
    """A new gensim ``KeyedVectors`` with only those of ``words`` that ``kv`` has (in the order of
    ``words``, each once), with ``kv``'s vectors.

    Evaluating the result compares vectors like for like: :func:`analogy_accuracy` then uses the
    same candidate answers and covers the same questions, and :func:`similarity_spearman` the same
    pairs, as for another model whose vocabulary is ``words`` (as far as ``kv`` has them all; the
    number of words kept, ``len(result)``, says how far). ``kv.index_to_key[:n]`` as ``words`` is
    gensim's ``restrict_vocab=n``.
    """
    from gensim.models import KeyedVectors

    index = _kv_index(kv)
    kept = list(dict.fromkeys(w for w in words if w in index))
    result = KeyedVectors(vector_size=kv.vector_size, count=0, dtype=np.float32)
    if kept:
        vectors = np.asarray(kv.vectors, dtype=np.float32)[[index[w] for w in kept]]
        result.add_vectors(kept, vectors)
    return result


def similarity_pairs(name: str) -> list[tuple[str, str, float]]:
    """Word pairs with human scores of a similarity benchmark: ``"simlex"`` or ``"wordsim"``."""
    if name not in SIMILARITY_FILES:
        raise ValueError(f"name must be one of {sorted(SIMILARITY_FILES)}, got {name!r}")
    pairs = []
    with open(corpus_path(SIMILARITY_FILES[name]), encoding="utf-8") as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            w1, w2, score = line.strip().split("\t")[:3]
            pairs.append((w1.lower(), w2.lower(), float(score)))
    return pairs


def similarity_spearman(kv, name: str) -> tuple[float, int, int]:
    """Spearman's rho between the cosine similarities of ``kv`` and human scores.

    ``name`` is ``"simlex"`` (SimLex-999: similarity, not relatedness) or ``"wordsim"``
    (WordSim-353). Only pairs with both words in ``kv`` count (as in gensim's
    ``evaluate_word_pairs``). Returns ``(rho, pairs covered, pairs in the file)``; rho is nan
    when fewer than two pairs are covered.
    """
    from scipy.stats import spearmanr

    pairs = similarity_pairs(name)
    index = _kv_index(kv)
    covered = [(w1, w2, s) for w1, w2, s in pairs if w1 in index and w2 in index]
    if len(covered) < 2:
        return float("nan"), len(covered), len(pairs)
    unit = _unit_rows(np.asarray(kv.vectors, dtype=np.float32))
    cos = [float(unit[index[w1]] @ unit[index[w2]]) for w1, w2, _s in covered]
    rho = spearmanr(cos, [s for _w1, _w2, s in covered]).correlation
    return float(rho), len(covered), len(pairs)


# ----------------------------------------------------------------------------- GloVe text format


def write_glove_text(path: str | os.PathLike, words: Sequence[str], vectors) -> None:
    """Write vectors in GloVe's text format: one line per word, ``word v1 v2 ... vd``, no header.

    ``vectors`` is an array or tensor of shape ``(len(words), d)``. Words must not contain
    whitespace. Values are written with 6 significant digits.
    """
    matrix = vectors.detach().cpu().numpy() if isinstance(vectors, torch.Tensor) else np.asarray(vectors)
    if matrix.ndim != 2 or matrix.shape[0] != len(words):
        raise ValueError(f"vectors must have shape ({len(words)}, d), got {matrix.shape}")
    with open(path, "w", encoding="utf-8") as f:
        for word, row in zip(words, matrix):
            if not word or any(ch.isspace() for ch in word):
                raise ValueError(f"a word in GloVe's text format cannot contain whitespace: {word!r}")
            f.write(word + " " + " ".join(f"{x:.6g}" for x in row) + "\n")


def read_glove_text(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read GloVe's text format into a dict ``word -> float32 array`` (a plain loader).

    Every line must have the same number of values as the first; otherwise ValueError names the
    line. Blank lines are skipped.
    """
    table: dict[str, np.ndarray] = {}
    dim = None
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            parts = line.rstrip("\n").rstrip().split(" ")
            if parts == [""]:
                continue
            if dim is None:
                dim = len(parts) - 1
                if dim < 1:
                    raise ValueError(f"line {number} of {path} has no vector values")
            if len(parts) != dim + 1:
                raise ValueError(f"line {number} of {path} has {len(parts) - 1} values, expected {dim}")
            table[parts[0]] = np.asarray(parts[1:], dtype=np.float32)
    return table


# ----------------------------------------------------------------------------- FastText init


def subword_init(vocab, ft_kv, pad_id: int | None = None) -> torch.Tensor:
    """An embedding matrix for ``vocab`` from a FastText model's subword-aware vectors.

    ``vocab`` is a :class:`seqlab.text.Vocab` (or a sequence of tokens, id = position);
    ``ft_kv`` is a gensim ``FastTextKeyedVectors`` (``model.wv`` of a ``FastText`` model, or
    ``load_facebook_vectors``). Row ``i`` is ``ft_kv[token i]``: a word FastText did not see
    gets the sum of its character n-gram vectors, so no row is out of vocabulary. The padding
    row (``pad_id``; by default the vocabulary's ``<pad>`` id, if it has one) is all zeros.
    Returns a float32 tensor of shape ``(len(vocab), ft_kv.vector_size)``.
    """
    tokens: Sequence[str] = vocab.itos if hasattr(vocab, "itos") else list(vocab)
    if pad_id is None and hasattr(vocab, "pad_id"):
        pad_id = vocab.pad_id if vocab.pad_id >= 0 else None
    matrix = np.zeros((len(tokens), ft_kv.vector_size), dtype=np.float32)
    for i, token in enumerate(tokens):
        if i != pad_id:
            matrix[i] = ft_kv.get_vector(token)
    return torch.from_numpy(matrix)


def corpus_stats(sentences: Iterable[Sequence[str]], min_count: int = 1) -> dict[str, int]:
    """``{"sentences", "tokens", "types", "vocab"}`` of a tokenised corpus; ``vocab`` counts the
    word types seen at least ``min_count`` times."""
    from collections import Counter

    counts: Counter[str] = Counter()
    n_sentences = 0
    for sentence in sentences:
        counts.update(sentence)
        n_sentences += 1
    return {"sentences": n_sentences, "tokens": sum(counts.values()), "types": len(counts),
            "vocab": sum(1 for c in counts.values() if c >= min_count)}


def epoch_bar(desc: str = "training", disable: bool = False):
    """A gensim training callback that shows a tqdm progress bar over epochs.

    ``Word2Vec(..., callbacks=[epoch_bar("skip-gram")])``; the bar closes when training ends.
    """
    from gensim.models.callbacks import CallbackAny2Vec
    from tqdm.auto import tqdm

    class _EpochBar(CallbackAny2Vec):
        def __init__(self):
            self.bar = None
            self.epochs_done = 0

        def on_train_begin(self, model):
            self.bar = tqdm(total=model.epochs, desc=desc, unit="epoch", leave=False, disable=disable)

        def on_epoch_end(self, model):
            self.epochs_done += 1
            self.bar.update(1)

        def on_train_end(self, model):
            self.bar.close()

    return _EpochBar()
