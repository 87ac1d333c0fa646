"""seqlab.embeddings: the pretraining corpus, the analogy and similarity benchmarks (checked against
gensim's own evaluators), GloVe's text format, FastText-initialised matrices, and reproducible
gensim training with a stable hash."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from gensim.models import KeyedVectors, Word2Vec
from gensim.models.fasttext import load_facebook_vectors
from gensim.test.utils import datapath

from seqlab.embeddings import (analogy_accuracy, analogy_questions, corpus_stats, pretraining_corpus,
                               read_glove_text, restrict_vectors, similarity_pairs, similarity_spearman,
                               stable_hash, subword_init, wiki_articles, words, write_glove_text)
from seqlab.text import Vocab

ROOT = Path(__file__).resolve().parents[1]


def _kv(table: dict[str, list[float]]) -> KeyedVectors:
    kv = KeyedVectors(vector_size=len(next(iter(table.values()))))
    kv.add_vectors(list(table), np.asarray(list(table.values()), dtype=np.float32))
    return kv


def test_bundled_files_exist():
    for name in ("enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2",
                 "lee_background.cor", "questions-words.txt", "simlex999.txt", "wordsim353.tsv",
                 "test_glove.txt", "lee_fasttext.bin"):
        assert os.path.isfile(datapath(name)), name


def test_pretraining_corpus_size_tokens_and_cache():
    corpus = pretraining_corpus()
    articles = wiki_articles()
    assert len(articles) == 106                      # what gensim's WikiCorpus keeps of 206 pages
    assert articles[0][0] == "Anarchism"
    stats = corpus_stats(corpus, min_count=5)
    assert 450_000 < stats["tokens"] < 560_000 and 8_000 < stats["vocab"] < 16_000
    assert all(s and all(t == t.lower() and 2 <= len(t) <= 15 for t in s) for s in corpus)
    odd = {t for s in corpus for t in s if not t.isalpha()}   # gensim's tokenizer keeps "km²", "iso_"
    assert len(odd) < 20
    wiki_only = pretraining_corpus(include_lee=False)
    assert len(wiki_only) == sum(len(s) for _t, s in articles) < len(corpus)
    assert corpus[:len(wiki_only)] == wiki_only
    lee_tokens = corpus_stats(corpus[len(wiki_only):])["tokens"]
    assert 50_000 < lee_tokens < 70_000               # the Lee background corpus
    start = time.perf_counter()
    again = pretraining_corpus()
    assert time.perf_counter() - start < 1.0 and again == corpus   # cached in memory
    again[0].append("changed")
    again.pop()
    assert pretraining_corpus() == corpus              # callers get a fresh list
    assert "sentence" in " ".join(map(" ".join, corpus))  # real text: a common word is there


def test_words_tokenizer():
    assert words("The U.S. won 3 medals in 1996; it's a 'good' result!") == [
        "the", "won", "medals", "in", "it", "good", "result"]


def test_analogy_accuracy_on_hand_made_vectors(tmp_path):
    questions = tmp_path / "q.txt"
    questions.write_text(": toy\nman king woman queen\nMan King Woman Queen\nman king woman girl\n"
                         "man king cat queen\n", encoding="utf-8")
    kv = _kv({"man": [1, 0, 0], "king": [1, 1, 0], "woman": [0, 0, 1], "queen": [0, 1, 1],
              "girl": [0, 0.1, 1]})
    assert len(analogy_questions(questions)) == 4
    accuracy, covered, total = analogy_accuracy(kv, questions)
    # the first two are right (queen); "girl" is wrong (queen wins); "cat" is not covered
    assert (covered, total) == (3, 4) and accuracy == pytest.approx(2 / 3)
    assert analogy_accuracy(_kv({"x": [1.0, 0.0]}), questions) == (0.0, 0, 4)


def test_analogy_and_similarity_match_gensim():
    model = Word2Vec(pretraining_corpus(include_lee=False)[:6000], vector_size=32, min_count=3,
                     epochs=2, workers=1, seed=0, hashfxn=stable_hash)
    accuracy, covered, total = analogy_accuracy(model.wv)
    score, sections = model.wv.evaluate_word_analogies(datapath("questions-words.txt"))
    assert total == 19544 and covered == len(sections[-1]["correct"]) + len(sections[-1]["incorrect"])
    assert covered > 200 and accuracy == pytest.approx(score, abs=1e-12)
    for name, file in (("simlex", "simlex999.txt"), ("wordsim", "wordsim353.tsv")):
        rho, n_covered, n_total = similarity_spearman(model.wv, name)
        _pearson, spearman, oov = model.wv.evaluate_word_pairs(datapath(file))
        assert n_total == {"simlex": 999, "wordsim": 353}[name] == len(similarity_pairs(name))
        assert rho == pytest.approx(spearman.statistic, abs=1e-6)
        assert 100 * (1 - n_covered / n_total) == pytest.approx(oov, abs=1e-6)
    with pytest.raises(ValueError):
        similarity_spearman(model.wv, "men")
    # restrict_vectors(kv, the first n words) is gensim's restrict_vocab=n (candidates and coverage)
    n = 2000
    small = restrict_vectors(model.wv, model.wv.index_to_key[:n])
    score_n, sections_n = model.wv.evaluate_word_analogies(datapath("questions-words.txt"), restrict_vocab=n)
    accuracy_n, covered_n, _ = analogy_accuracy(small)
    assert covered_n == len(sections_n[-1]["correct"]) + len(sections_n[-1]["incorrect"]) < covered
    assert covered_n > 20 and accuracy_n == pytest.approx(score_n, abs=1e-12)


def test_restrict_vectors_hand_made(tmp_path):
    kv = _kv({"man": [1, 0, 0], "king": [1, 1, 0], "woman": [0, 0, 1], "queen": [0, 1, 1],
              "girl": [0, 0.1, 1], "prince": [0.5, 1, 0]})
    small = restrict_vectors(kv, ["queen", "cat", "man", "king", "man", "woman"])   # "cat": not in kv
    assert small.index_to_key == ["queen", "man", "king", "woman"] and small.vector_size == 3
    assert small.vectors.dtype == np.float32
    for word in small.index_to_key:
        assert np.array_equal(small[word], kv[word])
    questions = tmp_path / "q.txt"
    questions.write_text(": toy\nman king woman queen\nman king woman girl\n", encoding="utf-8")
    assert analogy_accuracy(kv, questions)[:2] == (0.5, 2)
    assert analogy_accuracy(small, questions)[:2] == (1.0, 1)         # "girl" is neither candidate nor covered
    empty = restrict_vectors(kv, ["cat"])
    assert len(empty) == 0 and analogy_accuracy(empty, questions) == (0.0, 0, 2)


def test_similarity_spearman_hand_made():
    kv = _kv({"old": [1.0, 0.0], "new": [0.0, 1.0], "smart": [1.0, 0.2], "intelligent": [1.0, 0.25]})
    rho, covered, total = similarity_spearman(kv, "simlex")
    assert total == 999 and 1 <= covered <= 6
    assert np.isnan(rho) or -1 <= rho <= 1
    assert np.isnan(similarity_spearman(_kv({"zzz": [1.0]}), "wordsim")[0])


def test_glove_text_round_trip_and_gensim_reader(tmp_path):
    rng = np.random.default_rng(0)
    vocab = ["the", "film", "was", "superb", "isn't"]
    vectors = rng.normal(size=(5, 7)).astype(np.float32)
    path = tmp_path / "vectors.txt"
    write_glove_text(path, vocab, torch.from_numpy(vectors))
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 5 and lines[0].split(" ")[0] == "the" and len(lines[0].split(" ")) == 8
    table = read_glove_text(path)
    assert list(table) == vocab
    assert all(v.dtype == np.float32 and v.shape == (7,) for v in table.values())
    np.testing.assert_allclose(np.stack(list(table.values())), vectors, rtol=1e-5, atol=1e-6)
    kv = KeyedVectors.load_word2vec_format(str(path), binary=False, no_header=True)
    np.testing.assert_allclose(kv["superb"], table["superb"])
    with pytest.raises(ValueError):
        write_glove_text(path, ["two words", "x"], vectors[:2])
    with pytest.raises(ValueError):
        write_glove_text(path, ["a"], vectors[:2])
    bad = tmp_path / "bad.txt"
    bad.write_text("a 1 2 3\nb 1 2\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 2"):
        read_glove_text(bad)


def test_read_gensims_test_glove():
    table = read_glove_text(datapath("test_glove.txt"))
    kv = KeyedVectors.load_word2vec_format(datapath("test_glove.txt"), binary=False, no_header=True)
    assert len(table) == len(kv) > 10 and "the" in table
    dims = {v.shape for v in table.values()}
    assert dims == {(kv.vector_size,)}
    for word in list(table)[:10]:
        np.testing.assert_allclose(table[word], kv[word])


@pytest.fixture(scope="module")
def ft_kv():
    return load_facebook_vectors(datapath("lee_fasttext.bin"))


def test_subword_init_rows_oov_and_padding(ft_kv):
    vocab = Vocab(["the", "government", "runninggggg", "qzxw"])
    matrix = subword_init(vocab, ft_kv)
    assert isinstance(matrix, torch.Tensor) and matrix.dtype == torch.float32
    assert matrix.shape == (len(vocab), ft_kv.vector_size)
    assert torch.all(matrix[vocab.pad_id] == 0)
    for token in vocab.itos:
        i = vocab.stoi[token]
        if i != vocab.pad_id:
            assert torch.allclose(matrix[i], torch.tensor(ft_kv[token])), token
            assert matrix[i].abs().sum() > 0, token     # no row is out of vocabulary
    assert "runninggggg" not in ft_kv.key_to_index       # built from its character n-grams
    other = subword_init(["a", "the", "film"], ft_kv, pad_id=1)
    assert torch.all(other[1] == 0) and other[0].abs().sum() > 0
    assert subword_init(["a", "b"], ft_kv).abs().sum(dim=1).min() > 0   # no pad row given: none zeroed


def test_stable_hash_makes_word2vec_reproducible_across_processes():
    assert stable_hash("film") == stable_hash("film") and stable_hash("film") != stable_hash("films")
    code = ("from seqlab.embeddings import stable_hash\n"
            "from seqlab.reviews import make_unlabelled_reviews\n"
            "from gensim.models import Word2Vec\n"
            "m = Word2Vec([t.split() for t in make_unlabelled_reviews(2000)], vector_size=16, min_count=3,"
            " epochs=1, workers=1, seed=3, hashfxn=stable_hash)\n"
            "print(repr(float(m.wv.vectors.sum())), repr(float(m.wv.vectors[5, 3])))\n")
    outputs = []
    for hash_seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=hash_seed, OMP_NUM_THREADS="1")
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                env=env, cwd=ROOT, check=True)
        outputs.append(result.stdout.strip())
    assert outputs[0] == outputs[1] and outputs[0]


def test_analogy_ranks(tmp_path):
    from seqlab.embeddings import analogy_ranks
    questions = tmp_path / "q.txt"
    questions.write_text(": toy\nman king woman queen\nman king woman girl\nman king cat queen\n",
                         encoding="utf-8")
    kv = _kv({"man": [1, 0, 0], "king": [1, 1, 0], "woman": [0, 0, 1], "queen": [0, 1, 1],
              "girl": [0, 0.1, 1]})
    ranks, covered, total = analogy_ranks(kv, questions)
    assert ranks.tolist() == [1, 2] and [q[4] for q in covered] == ["queen", "girl"] and total == 3
    assert analogy_ranks(_kv({"x": [1.0]}), questions)[0].size == 0


def test_epoch_bar_counts_epochs():
    from seqlab.embeddings import epoch_bar
    bar = epoch_bar("test", disable=True)
    Word2Vec([["a", "b", "c"]] * 20, vector_size=4, min_count=1, epochs=3, workers=1, seed=0,
             hashfxn=stable_hash, callbacks=[bar])
    assert bar.epochs_done == 3
