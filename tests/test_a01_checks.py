"""a01 (language models): the hidden checks pass the reference and catch every catalogued mistake.

In-process and fast: the source notebook's code cells run in this process (the Lee-corpus data
and demonstration cells, which no test cell uses, are skipped), then its test cells run, hidden
tests included. ``tests/test_grading.py`` repeats it for a covering subset of the mutants with real
``nbgrader autograde``; this file finds a broken check in seconds and says which.
"""
from __future__ import annotations

import copy

import pytest

import assignment_utils as au
from autograder import a01_language_models as checks
from autograder.mutants import apply_mutant, load_catalogue

ASSIGNMENT = "a01_language_models"
# Lee-corpus data and demonstration cells (n-gram table, neural training): no test cell uses what
# they define (the hidden checks load their own data).
DEMO_CELLS = {"lee_data", "lee_ngram_table", "lee_ngram_test", "lee_windows", "lee_neural_train"}
# The training-threshold cell takes a few seconds: rerun it only for mutants of the model's cell
# (for any other mutant the model code is the reference's, so its outcome is the reference's;
# test_slow_checks_use_only_their_cells proves that it uses no other solution cell).
SLOW_TEST = "test_neural_lm_perplexity"
MODEL_CELL = "fixed_window_lm"
SLOW_CHECKS = {SLOW_TEST: {MODEL_CELL}}

SOURCE = au.load_source(ASSIGNMENT)
TESTS = list(au.autograded_cells(SOURCE))
MUTANTS = load_catalogue(ASSIGNMENT)


def namespace(nb) -> dict:
    """Run the setup, given and solution cells of ``nb`` (not the tests, not the demos)."""
    return au.exec_code_cells(nb, skip=set(TESTS) | DEMO_CELLS)


@pytest.fixture(scope="module")
def reference_ns() -> dict:
    return namespace(SOURCE)


@pytest.mark.parametrize("gid", TESTS)
def test_reference_passes_every_test_cell_silently(reference_ns, gid, capfd):
    """Visible and hidden checks pass on the reference; the hidden ones print nothing at all
    (nbgrader scores a cell 0 on any stderr output)."""
    au.assert_test_cell_passes_silently(SOURCE, gid, reference_ns, capfd)


@pytest.mark.parametrize("mutant", au.mutant_params(MUTANTS))
def test_mutant_fails_exactly_its_cells(mutant):
    """The mutant fails exactly the test cells its ``fails`` names, and each of them in its hidden
    part too (so the mistake is caught even if a student edits the visible checks)."""
    nb = apply_mutant(SOURCE, mutant)
    ns = namespace(nb)
    au.assert_mutant_fails_exactly_its_cells(mutant, nb, ns, TESTS, skip=au.slow_checks_to_skip(mutant, SLOW_CHECKS))


@pytest.mark.slow  # trains to check a threshold or a proof: in make test, not make test-fast
@pytest.mark.parametrize("gid", SLOW_CHECKS)
def test_slow_checks_use_only_their_cells(gid):
    au.assert_check_uses_only(SOURCE, gid, SLOW_CHECKS[gid], namespace)


@pytest.mark.slow  # trains to check a threshold or a proof: in make test, not make test-fast
def test_threshold_has_margin(reference_ns):
    """The reference clears both bars by a wide margin (the values the bars' comments document)."""
    ppl, rises = checks.train_and_measure_context(reference_ns["FixedWindowLM"], device="cpu", seed=0)
    assert ppl < 0.75 * checks.PERPLEXITY_BOUND, f"reference validation perplexity {ppl:.1f}"
    assert min(rises) > 2 * checks.MIN_CONTEXT_RISE, f"reference context rises {rises}"


# Correct solutions written differently from the reference: every test cell must pass them.
REWRITES = {
    "count_ngrams": '''
def count_ngrams(sentences, n, vocab):
    ngram_counts = Counter()
    for sentence in sentences:
        mapped = [BOS] * (n - 1) + [w if w in vocab else UNK for w in sentence] + [EOS]
        ngram_counts.update(zip(*(mapped[i:] for i in range(n))))   # sliding windows of n tokens
    context_counts = Counter()
    for ngram, count in ngram_counts.items():
        context_counts[ngram[:-1]] += count
    return ngram_counts, context_counts
''',
    "addk_prob": '''
def addk_prob(word, context, ngram_counts, context_counts, vocab, k=1.0):
    predictable = len(set(vocab) | {UNK, EOS})
    numerator = ngram_counts.get((*context, word), 0) + k
    return numerator / (context_counts.get(tuple(context), 0) + k * predictable)
''',
    "sentence_logprob": '''
def sentence_logprob(sentence, prob, n, vocab):
    padded = [BOS] * (n - 1) + [UNK if w not in vocab else w for w in sentence] + [EOS]
    probs = [prob(padded[i], tuple(padded[i - (n - 1):i])) for i in range(n - 1, len(padded))]
    if min(probs) <= 0:
        return float("-inf")
    return math.fsum(math.log(p) for p in probs)
''',
    "perplexity": '''
def perplexity(sentences, prob, n, vocab):
    bits = -sum(sentence_logprob(s, prob, n, vocab) for s in sentences) / math.log(2)
    return 2.0 ** (bits / sum(len(s) + 1 for s in sentences))
''',
    "fixed_window_lm": '''
class FixedWindowLM(nn.Module):
    def __init__(self, vocab_size: int, context_size: int, embed_dim: int = 32, hidden_size: int = 64):
        super().__init__()
        self.context_size = context_size
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        self.hidden = nn.Linear(context_size * embed_dim, hidden_size)
        self.output = nn.Linear(hidden_size, vocab_size)

    def forward(self, x, targets=None):
        e = torch.cat([self.embedding(x[:, i]) for i in range(x.size(1))], dim=-1)
        logits = self.output(self.hidden(e).tanh())
        if targets is None:
            return logits, None
        return logits, F.nll_loss(F.log_softmax(logits, dim=-1), targets)
''',
}


@pytest.mark.parametrize("cell", list(REWRITES))
def test_correct_rewrites_pass_every_test_cell(cell, capfd):
    """A correct solution written differently (other loops, other library calls) passes every test
    cell silently: the checks test behaviour, not the reference's code."""
    nb = copy.deepcopy(SOURCE)
    au.cell_by_grade_id(nb, cell).source = REWRITES[cell]
    ns = namespace(nb)
    for gid in TESTS:
        if gid == SLOW_TEST and cell != MODEL_CELL:
            continue
        au.assert_test_cell_passes_silently(nb, gid, ns, capfd)
