"""Chapter 5 (word embeddings): the executed notebook prints what the text claims.

Bounds, not exact values (gensim is reproducible with one worker and a stable hash, but BLAS and
accelerators differ): the corpus size; one-hot cosines and the lookup identity; skip-gram beats
CBOW and GloVe on every benchmark in this one run at this corpus size and is far below the published figures;
GloVe's counts are symmetric and sparse, its loss falls; GloVe ranks rare answers lower than
skip-gram (the source's rare-word claim does not hold here); the GloVe text format round-trips;
FastText answers out-of-vocabulary words and wins the syntactic analogies; the probe (general text
does not separate polarity, polarity-consistent reviews do, shuffled reviews do not); and the
held-out-word experiment (random init at chance, frozen pretrained near its seen-word accuracy,
fine-tuning no better and unseen vectors unmoved, frozen shuffled-polarity control vectors at chance).
"""
from __future__ import annotations

import os
import re

import pytest

from conftest import count_images, number, stdout_text

pytestmark = pytest.mark.slow

NUMBER = r"[-+]?\d[\d,]*(?:\.\d+)?(?:e[-+]?\d+)?"


@pytest.fixture(scope="module")
def nb(executed_chapter):
    return executed_chapter("05_embeddings")


@pytest.fixture(scope="module")
def out(nb) -> str:
    return stdout_text(nb)


def numbers(text: str, label: str) -> list[float]:
    """The numbers on the first printed line that starts with ``label`` (label excluded)."""
    match = re.search(rf"^\s*{re.escape(label)}(.*)$", text, flags=re.M)
    assert match, f"no printed line starts with {label!r}"
    return [float(v.replace(",", "")) for v in re.findall(NUMBER, match.group(1))]


def line(text: str, label: str) -> str:
    match = re.search(rf"^\s*{re.escape(label)}(.*)$", text, flags=re.M)
    assert match, f"no printed line starts with {label!r}"
    return match.group(1)


def test_corpus_and_one_hot(out):
    assert "cosine(good, great) = 0.0  cosine(good, dull) = 0.0" in out
    assert "lookup == one_hot @ W: True" in out
    articles = number(r"^(\d+) Wikipedia articles", out)
    lee, _sentences, tokens, types, vocab = numbers(out, "106 Wikipedia articles +")[:5]
    assert articles == 106 and lee == 293
    assert 450_000 < tokens < 560_000 and 8_000 < vocab < 11_000 and types > 30_000


def _benchmarks(out, name):
    """(accuracy, covered, total, SimLex rho, WordSim rho) of the benchmark line of ``name``."""
    match = re.search(rf"^{re.escape(name)} +analogy accuracy ([\d.]+) on ([\d,]+) of ([\d,]+) questions; "
                      rf"SimLex-999 rho ([-\d.]+) .*WordSim-353 rho ([-\d.]+)", out, flags=re.M)
    assert match, f"no benchmark line for {name}"
    return tuple(float(v.replace(",", "")) for v in match.groups())


def test_word2vec_benchmarks_and_the_caveat(out):
    """Skip-gram: about 1.5% of ~4,400 covered questions, SimLex about 0.1, WordSim about 0.2,
    far below the published 69% / 0.63; CBOW is lower on all three."""
    sg = _benchmarks(out, "skip-gram")
    cbow = _benchmarks(out, "CBOW")
    assert 0.008 < sg[0] < 0.025 and 3_800 < sg[1] < 5_000 and sg[2] == 19_544
    assert 0.06 < sg[3] < 0.14 and 0.14 < sg[4] < 0.26
    assert cbow[0] < sg[0] and cbow[3] < sg[3] and cbow[4] < sg[4]
    neighbours = line(out, "france   ->")
    assert "spain" in neighbours and "italy" in neighbours
    good = line(out, "good     ->")                  # the skip-gram line comes first
    assert "else" in good and "know" in good


def test_glove_counts_loss_and_table(out):
    assert 0.01 < number(r"non-zero X_ij of [\d,]+ \(([\d.]+)%\)", out) / 100 < 0.017
    new_york = re.search(r"X\(new, york\) = ([\d.]+) = X\(york, new\) = ([\d.]+)", out)
    assert new_york and new_york.group(1) == new_york.group(2) and float(new_york.group(1)) > 50
    assert "f(1) = 0.032, f(10) = 0.178, f(100) = f(1000) = 1" in out
    losses = numbers(out, "mean loss per epoch:")[:5]
    assert all(b < a for a, b in zip(losses, losses[1:])) and losses[-1] < 0.3 * losses[0]
    glove_good = re.findall(r"^good     -> (.*)$", out, flags=re.M)[1]        # the GloVe neighbours
    assert "bad" in [item.split()[0] for item in glove_good.split(", ")[:3]]
    assert 0.04 < number(r"standard error of Spearman's rho on 548 SimLex pairs, about 1 / sqrt\(n - 3\) = ([\d.]+)", out) < 0.05
    table = {name: numbers(out, f"{name} ")[-6:] for name in ("skip-gram  predictive", "CBOW       predictive",
                                                              "GloVe      count-based")}
    sg, cbow, glove = table.values()
    _, analogy, simlex, wordsim, rare, frequent = range(6)
    assert sg[analogy] > glove[analogy] and sg[simlex] > glove[simlex] and sg[wordsim] > glove[wordsim]
    assert abs(glove[analogy] - cbow[analogy]) < 0.01 and glove[simlex] > cbow[simlex]
    assert glove[wordsim] < cbow[wordsim]                          # GloVe last on WordSim-353
    assert glove[rare] > 1.3 * sg[rare]                           # rare answers: GloVe ranks them lower
    assert glove[frequent] < sg[frequent]                         # frequent answers: GloVe better


def test_glove_text_format(out):
    assert re.search(r"our_glove\.100d\.txt: [\d.]+ MB; line 1 = the .* \(100 numbers\)", out)
    assert number(r"gensim: [\d,]+ words; max \|difference\| ([\d.e+-]+)", out) == 0.0
    assert number(r"written and read back: max \|difference\| ([\d.e+-]+)", out) < 1e-4
    assert "test_glove.txt: 76 words of 50 dims" in out and "same vectors: True" in out


def test_glove6b_is_opt_in(out):
    """The book is built without SEQLAB_RUN_GLOVE6B: the glove.6B cell prints only that it skipped."""
    if os.environ.get("SEQLAB_RUN_GLOVE6B") == "1":
        pytest.skip("SEQLAB_RUN_GLOVE6B=1 is set here, so the glove.6B cell may have run (or failed to download)")
    skipped = ("glove.6B experiment skipped: set SEQLAB_RUN_GLOVE6B=1 (or RUN_GLOVE6B = True) to download "
               "glove.6B.zip (862 MB) and run it.")
    assert re.search(rf"^{re.escape(skipped)}$", out, flags=re.M)
    assert "glove.6B.100d: vocabulary" not in out and "glove.6B not available" not in out


def test_fasttext(out):
    assert "['<wh', 'whe', 'her', 'ere', 're>']" in out
    ft_analogy = number(r"FastText: .* analogy ([\d.]+),", out)
    sg_analogy = _benchmarks(out, "skip-gram")[0]
    assert 5 < ft_analogy / sg_analogy < 12                       # "eight times skip-gram"
    sg_sem, _, sg_syn, _ = numbers(out, "skip-gram analogy accuracy: semantic")[:4]
    ft_sem, _, ft_syn, _ = numbers(out, "FastText  analogy accuracy: semantic")[:4]
    assert ft_syn > 5 * sg_syn and ft_sem < sg_sem
    assert re.search(r"runninggggg +in vocabulary: False word2vec: KeyError", out)
    assert line(out, "runing ").split("neighbours: ")[1].startswith("running")
    assert line(out, "filmz ").split("neighbours: ")[1].startswith("film")
    assert number(r"cosine\(running, runninggggg\) in FastText: ([\d.]+)", out) > 0.95
    assert 20 < number(r"'running' occurs (\d+) times", out) < 100
    assert "ing" in line(out, "neighbours of 'running', FastText :").split(",")[0]
    assert "lee_fasttext.bin: 1,762 words x 10 dims; 'runninggggg' in its vocabulary: False" in out


def test_embedding_matrix_and_frozen_model(out):
    missing = line(out, "task vocabulary")
    assert "<unk>" in missing and " ," in missing and "superb" in missing
    assert "padding row all zeros: True" in out
    assert "from_pretrained(freeze=True): requires_grad False | requires_grad = False: False" in out
    assert "after backward: embedding grad None" in out


def test_probe(out):
    general = numbers(out, "general text only")
    reviews = numbers(out, "+ reviews ")
    shuffled = numbers(out, "+ shuffled reviews ")
    assert general[:2] == [9, 20] and general[2] < general[4]      # pos-pos below pos-neg
    assert reviews[:2] == [20, 20] and min(reviews[2], reviews[3]) > reviews[4] + 0.1
    assert shuffled[:2] == [20, 20] and shuffled[4] >= min(shuffled[2], shuffled[3]) - 0.02
    assert "good -> else" in line(out, "general text only")


def test_heldout_word_experiment(out):
    """Random init at chance on unseen adjectives; frozen pretrained vectors well above chance there
    and about level with their seen-word accuracy; fine-tuning no better; unseen vectors unmoved;
    frozen control (shuffled-polarity) vectors at chance on both test sets."""
    random_seen, _, random_held, _ = numbers(out, "random init (trained)")[:4]
    frozen_seen, _, frozen_held, frozen_std = numbers(out, "frozen pretrained")[:4]
    tuned_seen, _, tuned_held, tuned_std = numbers(out, "fine-tuned pretrained")[:4]
    control_seen, _, control_held, _ = numbers(out, "frozen control vectors")[:4]
    assert random_seen > 0.95 and 0.4 < random_held < 0.62
    assert frozen_held > 0.85 and frozen_held > random_held + 0.25 and abs(frozen_held - frozen_seen) < 0.06
    assert tuned_seen > 0.85 and tuned_held <= frozen_held + frozen_std + 1e-9
    assert control_seen < 0.65 and control_held < 0.65
    assert numbers(out, "relative change of the held out vectors")[0] == 0.0
    assert numbers(out, "relative change of the seen     vectors")[0] > 0.05
    assert "(mean ± std over 3 seeds)" in out


def test_frame(nb):
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert count_images(nb) >= 3
    assert ":class: dropdown" in markdown and "## 요약 (Korean summary)" in markdown
    assert markdown.count("\n1. ") >= 1 and re.search(r"^6\. ", markdown, flags=re.M)
    assert "../exercises/a05_embeddings/a05_embeddings.ipynb" in markdown
    setup = nb.cells[1].source
    assert "seqlab.set_seed(0)" in setup and "device = seqlab.get_device()" in setup
