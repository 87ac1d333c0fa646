"""Hidden checks of assignment a05 (word embeddings: GloVe's counts and loss, neighbours, an
embedding matrix, and the frozen-embedding LSTM classifier).

Each check takes the student's function or class, is deterministic (seeded), writes nothing to
stdout or stderr, and raises ``AssertionError`` with a message the student can act on.

The checks are independent, so that one mistake costs only the cells that test what it breaks:

- the co-occurrence checks compare exact values on tiny hand-made corpora (symmetry, 1/distance,
  the window's edge, sentence boundaries, repeated words, an empty sentence);
- the loss checks compare with the formula in float64 on random batches (counts below, at and
  above ``x_max``, and zero counts), check that gradients reach all four parameter sets, and train
  a small GloVe with the student's loss on counts the check computes itself;
- the embedding-matrix checks use a hand-made ``KeyedVectors`` (one that even contains ``<pad>``);
- the classifier's accuracy check builds its embedding matrix itself, so only the classifier is
  graded there. Its threshold has a margin measured in ``tests/test_a05_checks.py`` (see
  ``HELDOUT``).
"""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from autograder.common import extra_device, quiet
from seqlab.embeddings import stable_hash
from seqlab.reviews import make_reviews, make_unlabelled_reviews
from seqlab.text import Vocab, pad_sequences, tokenize

# The GloVe training check: counts of 1,500 unlabelled (synthetic) reviews, window 5, dim 16,
# Adam 0.05, 150 full-batch steps with the student's loss; the final loss (the formula's, computed
# by the check) must fall below GLOVE["bound"] (the reference reaches about 0.05; see the tests).
GLOVE = dict(n_texts=1500, window=5, dim=16, lr=0.05, steps=150, bound=0.1)
# The held-out-word check: skip-gram vectors pretrained on 3,000 unlabelled reviews, a frozen
# classifier trained 5 epochs on 600 plain reviews with the SEEN adjectives, tested on 500 with the
# HELDOUT ones. The reference scores about 0.98; random vectors score about 0.5.
HELDOUT = dict(n_unlabelled=3000, n_train=600, n_test=500, hidden_size=64, lr=3e-3, epochs=5,
               batch_size=64, target=0.8)


def _devices() -> list[torch.device]:
    extra = extra_device()
    return [torch.device("cpu")] + ([extra] if extra is not None else [])


def _fmt(t: torch.Tensor) -> str:
    return np.array2string(t.detach().cpu().numpy(), precision=3, suppress_small=True)


# ============================================================================ co-occurrence counts

def reference_counts(sentences, vocab_size: int, window: int) -> torch.Tensor:
    """The counts the assignment asks for (used to check, and to feed the GloVe training check)."""
    X = np.zeros((vocab_size, vocab_size))
    for sentence in sentences:
        for s in range(len(sentence)):
            for d in range(1, window + 1):
                if s + d < len(sentence):
                    X[sentence[s], sentence[s + d]] += 1.0 / d
                    X[sentence[s + d], sentence[s]] += 1.0 / d
    return torch.from_numpy(X)


def _counts(cooccurrence_counts, sentences, vocab_size, window) -> torch.Tensor:
    copy = [list(s) for s in sentences]
    X = cooccurrence_counts(sentences, vocab_size, window)
    if [list(s) for s in sentences] != copy:
        raise AssertionError("cooccurrence_counts modified its input sentences; build new objects instead")
    if not isinstance(X, torch.Tensor):
        raise AssertionError(f"cooccurrence_counts must return a torch.Tensor, got {type(X).__name__}")
    if tuple(X.shape) != (vocab_size, vocab_size):
        raise AssertionError(f"X has shape {tuple(X.shape)}, expected (vocab_size, vocab_size) = "
                             f"{(vocab_size, vocab_size)}")
    if X.dtype != torch.float64:
        raise AssertionError(f"X has dtype {X.dtype}; return float64 counts (weights like 1/3 are not exact in float32)")
    return X


@quiet
def check_cooccurrence_exact(cooccurrence_counts: Callable) -> None:
    """Exact counts on tiny corpora: 1/distance weights, symmetry, the window's edge, sentence
    boundaries, a word next to itself, empty and one-word sentences."""
    cases = [
        ("one sentence, window 2", [[0, 1, 2]], 3, 2),
        ("the window's edge: distance 3 counts with window 3, distance 4 does not", [[0, 1, 2, 3, 4]], 5, 3),
        ("two sentences: no pair crosses the boundary", [[0, 1], [2, 3]], 4, 5),
        ("a word next to itself (each ordered pair of positions adds 1/d)", [[1, 1, 0, 1]], 2, 2),
        ("an empty sentence and a one-word sentence add nothing", [[], [3], [0, 2, 1]], 4, 1),
        ("window 1 on a longer sentence", [[4, 0, 3, 0, 4, 2]], 5, 1),
    ]
    for description, sentences, V, window in cases:
        X = _counts(cooccurrence_counts, sentences, V, window)
        expected = reference_counts(sentences, V, window)
        if not torch.allclose(X, expected, atol=1e-12):
            hint = ""
            if torch.allclose(X, X.T) is False:
                hint = " X is not symmetric: count each pair in both directions, X[a, b] and X[b, a]."
            elif torch.allclose((X > 0).double(), (expected > 0).double()):
                hint = " The right pairs are counted but with the wrong weights: a pair d apart adds 1/d."
            raise AssertionError(f"{description}: sentences={sentences}, window={window}\nyour X =\n{_fmt(X)}\n"
                                 f"expected =\n{_fmt(expected)}.{hint}")


@quiet
def check_cooccurrence_random(cooccurrence_counts: Callable) -> None:
    """Random corpora: equal to the definition, symmetric, and the total weight is what the
    window implies."""
    gen = torch.Generator().manual_seed(5)
    for trial, (V, window) in enumerate(((6, 2), (10, 4), (3, 7))):
        lengths = torch.randint(0, 12, (8,), generator=gen).tolist()
        sentences = [torch.randint(0, V, (n,), generator=gen).tolist() for n in lengths]
        X = _counts(cooccurrence_counts, sentences, V, window)
        if not torch.allclose(X, X.T, atol=1e-12):
            raise AssertionError("X is not symmetric: with a symmetric window every pair (a, b) also counts as (b, a)")
        total = sum(2.0 / d for n in lengths for s in range(n) for d in range(1, window + 1) if s + d < n)
        if not math.isclose(X.sum().item(), total, rel_tol=1e-9):
            raise AssertionError(f"the counts add up to {X.sum().item():.4f}, expected {total:.4f} (sum over "
                                 f"pairs of positions in the same sentence, 1 <= distance <= window, of 2/distance)")
        if not torch.allclose(X, reference_counts(sentences, V, window), atol=1e-10):
            raise AssertionError(f"random corpus {trial}: X differs from the definition")


# ============================================================================ the GloVe loss

def reference_loss(w, w_tilde, b, b_tilde, i, j, x, x_max=100.0, alpha=0.75) -> torch.Tensor:
    weight = torch.where(x < x_max, (x / x_max) ** alpha, torch.ones_like(x))
    prediction = (w[i] * w_tilde[j]).sum(dim=1) + b[i] + b_tilde[j]
    log_x = torch.log(torch.where(x > 0, x, torch.ones_like(x)))
    return (weight * (prediction - log_x) ** 2).mean()


def _batch(seed: int, V: int, d: int, B: int, zeros: bool = False, dtype=torch.float64, device="cpu"):
    gen = torch.Generator().manual_seed(seed)
    params = [torch.randn(V, d, generator=gen, dtype=dtype) * 0.5, torch.randn(V, d, generator=gen, dtype=dtype) * 0.5,
              torch.randn(V, generator=gen, dtype=dtype), torch.randn(V, generator=gen, dtype=dtype)]
    i = torch.randint(0, V, (B,), generator=gen)
    j = torch.randint(0, V, (B,), generator=gen)
    x = torch.exp(torch.rand(B, generator=gen, dtype=dtype) * 8 - 2)          # about 0.14 to 400
    x[: B // 4] = torch.tensor([0.5, 1.0, 99.0, 100.0, 100.5, 250.0] * B, dtype=dtype)[: B // 4]
    if zeros:
        x[-3:] = 0.0
    return [p.to(device) for p in params], i.to(device), j.to(device), x.to(device)


@quiet
def check_loss_formula(glove_loss: Callable) -> None:
    """The loss equals the formula in float64: f's cap at x_max, alpha = 3/4, both biases, the mean
    over the batch; other x_max and alpha are honoured; inputs are not modified."""
    for device in _devices():
        dtype = torch.float64 if device.type != "mps" else torch.float32
        for seed, (V, d, B, kwargs) in enumerate(((7, 3, 16, {}), (12, 5, 40, {}), (5, 2, 8, {"x_max": 10.0}),
                                                   (9, 4, 24, {"alpha": 0.5}), (4, 1, 1, {}))):
            params, i, j, x = _batch(seed, V, d, B, dtype=dtype, device=device)
            copies = [t.clone() for t in (*params, i, j, x)]
            loss = glove_loss(*params, i, j, x, **kwargs)
            if not isinstance(loss, torch.Tensor) or loss.dim() != 0:
                raise AssertionError("glove_loss must return a scalar tensor (0-dimensional): the mean over the batch")
            expected = reference_loss(*params, i, j, x, **kwargs)
            if not torch.allclose(loss.double().cpu(), expected.double().cpu(), rtol=1e-6, atol=1e-9):
                raise AssertionError(
                    f"with V={V}, d={d}, batch {B}{', ' + str(kwargs) if kwargs else ''}: loss {loss.item():.6f}, "
                    f"expected {expected.item():.6f}. Check f(x) = (x/x_max)^alpha below x_max and exactly 1 "
                    f"from x_max on, both biases b_i and b~_j, log of x, and the mean (not the sum) over the batch.")
            if any(not torch.equal(a, b) for a, b in zip(copies, (*params, i, j, x))):
                raise AssertionError("glove_loss modified one of its inputs")


@quiet
def check_loss_zero_counts(glove_loss: Callable) -> None:
    """Pairs with X_ij = 0 contribute exactly 0 (f(0) = 0) to the loss and its gradient, without NaN,
    and still count in the mean's denominator: loss(batch) = loss(non-zero pairs) * n_nonzero / B."""
    params, i, j, x = _batch(11, 8, 3, 12, zeros=True)
    params = [p.requires_grad_(True) for p in params]
    loss = glove_loss(*params, i, j, x)
    if not isinstance(loss, torch.Tensor) or not torch.isfinite(loss):
        raise AssertionError(f"the loss is {loss} when the batch has pairs with x = 0: log(0) = -inf and "
                             f"0 * inf = nan. Give those pairs weight 0 without taking log(0), e.g. with torch.where.")
    loss.backward()
    if any(p.grad is not None and not torch.isfinite(p.grad).all() for p in params):
        raise AssertionError("the gradient has NaN when the batch has pairs with x = 0: avoid log(0) "
                             "even where it is multiplied by 0 (torch.where on x before the log)")
    keep = x > 0
    with torch.no_grad():
        nonzero = glove_loss(*params, i[keep], j[keep], x[keep])
    expected = nonzero * keep.sum() / len(x)
    if not torch.allclose(loss.detach(), expected, rtol=1e-6, atol=1e-12):
        raise AssertionError(f"with {int((~keep).sum())} zero counts among {len(x)} pairs the loss is {loss.item():.6f}; "
                             f"the same pairs without the zeros give {nonzero.item():.6f}, so expected "
                             f"{expected.item():.6f}: a zero pair adds 0 but counts in the mean's denominator")


@quiet
def check_loss_gradients(glove_loss: Callable) -> None:
    """Gradients reach w, w~, b and b~ (only their rows in the batch), and agree with finite
    differences (gradcheck in float64)."""
    params, _, _, x = _batch(3, 10, 4, 6)
    i, j = torch.tensor([0, 1, 2, 0, 3, 1]), torch.tensor([4, 5, 4, 6, 7, 5])
    leaves = [p.clone().requires_grad_(True) for p in params]
    glove_loss(*leaves, i, j, x).backward()
    for name, p, rows in zip(("w", "w_tilde", "b", "b_tilde"), leaves, (i, j, i, j)):
        if p.grad is None or not torch.any(p.grad != 0):
            raise AssertionError(f"no gradient reaches {name}: every one of w_i, w~_j, b_i and b~_j must enter the loss")
        untouched = torch.ones(p.shape[0], dtype=torch.bool)
        untouched[rows] = False
        if torch.any(p.grad[untouched] != 0):
            raise AssertionError(f"rows of {name} that are not in the batch received a gradient")
    leaves = [p.detach().clone().requires_grad_(True) for p in params]
    try:
        ok = torch.autograd.gradcheck(lambda *ps: glove_loss(*ps, i, j, x), leaves, eps=1e-6, atol=1e-5)
    except RuntimeError as error:
        raise AssertionError(f"gradcheck failed for glove_loss: {str(error)[:300]}") from error
    if not ok:
        raise AssertionError("gradcheck failed for glove_loss")


def glove_training_loss(glove_loss: Callable, seed: int = 0) -> tuple[float, float]:
    """Train a small GloVe with ``glove_loss``; returns (initial, final) loss by the formula."""
    texts = make_unlabelled_reviews(GLOVE["n_texts"], seed=seed + 100)
    vocab = Vocab.build([tokenize(t) for t in texts], specials=("<unk>",))
    X = reference_counts([vocab.encode(tokenize(t)) for t in texts], len(vocab), GLOVE["window"])
    i, j = X.nonzero(as_tuple=True)
    x = X[i, j].float()
    gen = torch.Generator().manual_seed(seed)
    V, d = len(vocab), GLOVE["dim"]
    params = [(torch.randn(V, d, generator=gen) * 0.1).requires_grad_(True),
              (torch.randn(V, d, generator=gen) * 0.1).requires_grad_(True),
              torch.zeros(V, requires_grad=True), torch.zeros(V, requires_grad=True)]
    optimizer = torch.optim.Adam(params, lr=GLOVE["lr"])
    with torch.no_grad():
        initial = reference_loss(*params, i, j, x).item()
    for _ in range(GLOVE["steps"]):
        loss = glove_loss(*params, i, j, x)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        final = reference_loss(*params, i, j, x).item()
    return initial, final


@quiet
def check_glove_training(glove_loss: Callable) -> None:
    """A short seeded GloVe run with the student's loss lowers the formula's loss below a bound."""
    initial, final = glove_training_loss(glove_loss, seed=1)
    if not final < GLOVE["bound"]:
        raise AssertionError(f"after {GLOVE['steps']} Adam steps with your loss, the GloVe loss went from {initial:.3f} "
                             f"to {final:.3f}; a correct loss reaches below {GLOVE['bound']}")


# ============================================================================ nearest neighbours

def _neighbours(nearest_neighbours, vectors, query, k) -> list[int]:
    copy = vectors.clone()
    result = nearest_neighbours(vectors, query, k)
    if not torch.equal(vectors, copy):
        raise AssertionError("nearest_neighbours modified the vectors it was given (an in-place division?); "
                             "compute normalised copies instead")
    if isinstance(result, torch.Tensor):
        result = result.tolist()
    try:
        result = [int(r) for r in result]
    except (TypeError, ValueError) as error:
        raise AssertionError(f"nearest_neighbours must return a list of row ids, got {result!r}") from error
    return result


@quiet
def check_nearest_neighbours(nearest_neighbours: Callable) -> None:
    """Cosine (not dot-product) neighbours, most similar first, the query excluded, for several k,
    vectors of very different lengths, and on the accelerator too."""
    # A case where dot products and cosines disagree: row 1 is long but points elsewhere.
    vectors = torch.tensor([[1.0, 0.0], [10.0, 10.0], [0.9, 0.1], [0.0, 1.0], [-1.0, 0.0]])
    got = _neighbours(nearest_neighbours, vectors, 0, 2)
    if got != [2, 1]:
        hint = (" That is the dot-product order: normalise the rows to unit length first (cosine)."
                if got == [1, 2] else "")
        hint += " The query itself must not be returned." if 0 in got else ""
        raise AssertionError(f"neighbours of row 0 in {vectors.tolist()} with k=2: got {got}, expected [2, 1]"
                             f" (cosines 0.99, 0.71).{hint}")
    # Duplicate rows: rows 0, 2 and 4 are the same vector, so the query's twins tie with it at cosine 1.
    # The query must be left out by its id (not by dropping the first of the top k + 1).
    twins = torch.tensor([[1.0, 2.0], [0.0, 1.0], [1.0, 2.0], [-1.0, 0.5], [1.0, 2.0], [2.0, -1.0]])
    for query in (0, 2, 4):
        got = _neighbours(nearest_neighbours, twins, query, 2)
        if sorted(got) != sorted({0, 2, 4} - {query}):
            raise AssertionError(f"rows 0, 2 and 4 of {twins.tolist()} are the same vector: the 2 neighbours of row "
                                 f"{query} are the other two (cosine 1), got {got}. Exclude the query by its id "
                                 f"(set its similarity to -inf), not by dropping the first of the top k + 1.")
    gen = torch.Generator().manual_seed(0)
    for device in _devices():
        for V, d, k in ((30, 5, 1), (30, 5, 7), (12, 3, 11), (50, 8, 4)):
            vectors = (torch.randn(V, d, generator=gen) * torch.rand(V, 1, generator=gen) * 10).to(device)
            for query in (0, V // 2, V - 1):
                got = _neighbours(nearest_neighbours, vectors, query, k)
                unit = vectors / vectors.norm(dim=1, keepdim=True)
                cos = (unit @ unit[query]).cpu()
                cos[query] = -math.inf
                expected = cos.argsort(descending=True)[:k].tolist()
                if got != expected:
                    raise AssertionError(f"V={V}, d={d}, query {query}, k={k}: got {got}, expected {expected} "
                                         f"(cosines, most similar first, query excluded)")


# ============================================================================ the embedding matrix

def _keyed_vectors(words: list[str], d: int, seed: int):
    from gensim.models import KeyedVectors

    rng = np.random.default_rng(seed)
    kv = KeyedVectors(vector_size=d)
    kv.add_vectors(words, rng.normal(size=(len(words), d)).astype(np.float32))
    return kv


def _matrix(embedding_matrix, vocab, kv, scale, seed, check_dtype: bool = True) -> torch.Tensor:
    matrix = embedding_matrix(vocab, kv, scale, torch.Generator().manual_seed(seed))
    if not isinstance(matrix, torch.Tensor):
        raise AssertionError(f"embedding_matrix must return a torch.Tensor, got {type(matrix).__name__}")
    if tuple(matrix.shape) != (len(vocab), kv.vector_size):
        raise AssertionError(f"the matrix has shape {tuple(matrix.shape)}, expected (len(vocab), kv.vector_size) = "
                             f"{(len(vocab), kv.vector_size)}")
    if check_dtype and matrix.dtype != torch.float32:
        raise AssertionError(f"the matrix has dtype {matrix.dtype}; nn.Embedding expects float32")
    return matrix


@quiet
def check_embedding_matrix_rows(embedding_matrix: Callable) -> None:
    """Row i is the vector of vocab.itos[i] when kv has it (row order = vocabulary ids), the
    padding row is zeros (even if kv has a vector for "<pad>"), float32, the right shape."""
    kv = _keyed_vectors(["film", "superb", "dull", "the", "<pad>", "plot", "never-used"], d=6, seed=0)
    vocab = Vocab(["the", "film", "was", "superb", "dull", "plot", "acting"], specials=("<pad>", "<unk>"))
    matrix = _matrix(embedding_matrix, vocab, kv, 0.5, seed=0)
    for i, token in enumerate(vocab.itos):
        if token in kv.key_to_index and i != vocab.pad_id:
            if not torch.allclose(matrix[i], torch.from_numpy(kv[token].copy())):
                where = [r for r in range(len(vocab)) if torch.allclose(matrix[r], torch.from_numpy(kv[token].copy()))]
                raise AssertionError(f"row {i} ({token!r}) is not kv[{token!r}]"
                                     + (f"; that vector is in row {where[0]}: rows must follow the vocabulary ids "
                                        f"(vocab.itos[i] is the token of row i, specials included)" if where else ""))
    if torch.any(matrix[vocab.pad_id] != 0):
        raise AssertionError(f"the padding row (vocab.pad_id = {vocab.pad_id}) must be all zeros, even when kv has a "
                             f"vector for '<pad>'")
    vocab = Vocab(["superb", "film"], specials=("<unk>", "<pad>"))             # padding not at id 0
    matrix = _matrix(embedding_matrix, vocab, kv, 0.5, seed=1)
    if torch.any(matrix[1] != 0):
        raise AssertionError("with specials ('<unk>', '<pad>') the padding row is row 1 (vocab.pad_id), not row 0")


@quiet
def check_embedding_matrix_missing(embedding_matrix: Callable) -> None:
    """Rows of words kv lacks (and <unk>) are independent N(0, scale^2) draws from the generator:
    non-zero, different from each other, with the right spread, reproducible from the seed."""
    kv = _keyed_vectors([f"w{k}" for k in range(5)], d=300, seed=1)
    tokens = [f"w{k}" for k in range(5)] + [f"missing{k}" for k in range(20)]
    vocab = Vocab(tokens, specials=("<pad>", "<unk>"))
    for scale in (0.3, 2.0):
        matrix = _matrix(embedding_matrix, vocab, kv, scale, seed=7, check_dtype=False)
        missing = torch.stack([matrix[vocab.stoi[t]] for t in vocab.itos if t not in kv.key_to_index and t != "<pad>"])
        if torch.any(missing.abs().sum(dim=1) == 0):
            raise AssertionError("a row of a word without a pretrained vector is all zeros; the rule is a random "
                                 "row, N(0, scale^2), drawn with the generator")
        if len({tuple(r.tolist()) for r in missing}) != len(missing):
            raise AssertionError("two missing words got the same row; draw each row independently")
        std = missing.std().item()
        if not 0.9 * scale < std < 1.1 * scale or abs(missing.mean().item()) > 0.05 * scale:
            raise AssertionError(f"with scale={scale} the random rows have mean {missing.mean().item():.3f} and std "
                                 f"{std:.3f}; they should be N(0, scale^2): torch.randn(..., generator=generator) * scale")
        again = _matrix(embedding_matrix, vocab, kv, scale, seed=7, check_dtype=False)
        if not torch.equal(matrix, again):
            raise AssertionError("the same generator seed gave a different matrix: draw the random rows with the "
                                 "generator you are given (torch.randn(..., generator=generator))")
    other = _matrix(embedding_matrix, vocab, kv, 0.3, seed=8, check_dtype=False)
    if torch.equal(other, _matrix(embedding_matrix, vocab, kv, 0.3, seed=7, check_dtype=False)):
        raise AssertionError("a different generator seed gave the same matrix: use the generator for the random rows")


# ============================================================================ the classifier

def _model(cls, V=20, d=6, hidden_size=5, pad_id=0, seed=0):
    torch.manual_seed(seed)
    vectors = torch.randn(V, d)
    vectors[pad_id] = 0
    return cls(vectors.clone(), hidden_size=hidden_size, pad_id=pad_id), vectors


def _call(model, x, lengths, targets=None):
    out = model(x, lengths) if targets is None else model(x, lengths, targets=targets)
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise AssertionError("forward must return a pair (logits, loss)")
    return out


@quiet
def check_classifier_structure(cls) -> None:
    """The layers of the source's model: frozen pretrained embedding (with padding_idx), a 2-layer
    batch-first LSTM with dropout 0.3 between layers, dropout 0.5, one output."""
    model, vectors = _model(cls, pad_id=2)
    for name in ("embed", "lstm", "dropout", "head"):
        if not hasattr(model, name):
            raise AssertionError(f"the model has no attribute {name!r} (use the names of the docstring)")
    if not torch.equal(model.embed.weight.detach().cpu(), vectors):
        raise AssertionError("model.embed.weight must be the vectors passed in (nn.Embedding.from_pretrained)")
    if model.embed.weight.requires_grad:
        raise AssertionError("the embedding is not frozen: use nn.Embedding.from_pretrained(vectors, freeze=True) "
                             "(or set weight.requires_grad = False)")
    if model.embed.padding_idx != 2:
        raise AssertionError(f"the embedding's padding_idx is {model.embed.padding_idx}, expected pad_id (2 here)")
    lstm = model.lstm
    if not isinstance(lstm, nn.LSTM) or lstm.num_layers != 2 or lstm.hidden_size != 5 or lstm.input_size != 6:
        raise AssertionError("model.lstm must be nn.LSTM(embedding dim, hidden_size, num_layers=2, ...)")
    if not lstm.batch_first:
        raise AssertionError("the inputs are (B, T): create the LSTM with batch_first=True")
    if not math.isclose(lstm.dropout, 0.3):
        raise AssertionError(f"the LSTM's dropout (between its layers) is {lstm.dropout}, expected 0.3")
    if not isinstance(model.dropout, nn.Dropout) or not math.isclose(model.dropout.p, 0.5):
        raise AssertionError("model.dropout must be nn.Dropout(0.5)")
    if not isinstance(model.head, nn.Linear) or model.head.out_features != 1 or model.head.in_features != 5:
        raise AssertionError("model.head must be nn.Linear(hidden_size, 1): one logit per review")


@quiet
def check_classifier_forward(cls) -> None:
    """(logits (B,), loss) with BCE-with-logits; logits = head(h_n[-1]) of the packed batch (the
    LAST layer's final state at each row's last real token), independent of extra padding."""
    for device in _devices():
        model, _ = _model(cls, seed=1)
        model = model.to(device).eval()
        x = torch.tensor([[3, 7, 1, 9], [4, 2, 0, 0], [5, 0, 0, 0]], device=device)
        lengths = torch.tensor([4, 2, 1], device=device)
        with torch.no_grad():
            logits, loss = _call(model, x, lengths)
            if loss is not None:
                raise AssertionError("without targets the loss must be None")
            if not isinstance(logits, torch.Tensor) or tuple(logits.shape) != (3,):
                raise AssertionError(f"logits must have shape (B,) = (3,), got "
                                     f"{tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits)}")
            packed = pack_padded_sequence(model.embed(x), lengths.cpu(), batch_first=True, enforce_sorted=False)
            _, (h_n, _) = model.lstm(packed)
            expected = model.head(h_n[-1]).squeeze(-1)
            if not torch.allclose(logits, expected, atol=1e-5):
                first = model.head(h_n[0]).squeeze(-1)
                hint = (" They match head(h_n[0]), the FIRST layer's state: h_n is (num_layers, B, H), take h_n[-1]."
                        if torch.allclose(logits, first, atol=1e-5) else
                        " Pack the batch (pack_padded_sequence with lengths) and read h_n[-1].")
                raise AssertionError(f"logits {_fmt(logits)} are not head(h_n[-1]) = {_fmt(expected)}.{hint}")
            more = torch.cat([x, torch.zeros(3, 3, dtype=torch.long, device=device)], dim=1)
            if not torch.allclose(_call(model, more, lengths)[0], logits, atol=1e-5):
                raise AssertionError("the logits change when the batch gets 3 more <pad> columns: read the last REAL "
                                     "step (pack the batch with lengths), not the last position")
            targets = torch.tensor([1.0, 0.0, 1.0], device=device)
            _, loss = _call(model, x, lengths, targets)
            if not isinstance(loss, torch.Tensor) or not torch.allclose(
                    loss, F.binary_cross_entropy_with_logits(logits, targets), atol=1e-6):
                raise AssertionError("the loss must be F.binary_cross_entropy_with_logits(logits, targets)")
    _check_dropout_on_last_state(cls)


def _check_dropout_on_last_state(cls) -> None:
    """In training mode, model.dropout is applied to h_n[-1] and its output is what the head reads."""
    model, _ = _model(cls, seed=3)
    model.train()
    seen: dict = {"dropout": []}
    hooks = [model.lstm.register_forward_hook(lambda _m, _i, out: seen.__setitem__("h_n", out[1][0].detach())),
             model.dropout.register_forward_hook(
                 lambda _m, inp, out: seen["dropout"].append((inp[0].detach(), out.detach()))),
             model.head.register_forward_hook(lambda _m, inp, _o: seen.__setitem__("head", inp[0].detach()))]
    try:
        torch.manual_seed(0)
        _call(model, torch.tensor([[3, 7, 1, 9], [4, 2, 6, 0], [5, 8, 0, 0]]), torch.tensor([4, 3, 2]))
    finally:
        for hook in hooks:
            hook.remove()
    if not seen["dropout"]:
        raise AssertionError("in training mode model.dropout was never called: apply self.dropout to h_n[-1] "
                             "before the linear layer (nn.Dropout is the identity in eval mode, so it costs nothing "
                             "at test time)")
    if "h_n" not in seen or "head" not in seen:
        raise AssertionError("forward must call model.lstm and model.head")
    last = seen["h_n"][-1]
    if not any(inp.shape == last.shape and torch.equal(inp, last) and torch.equal(out, seen["head"])
               for inp, out in seen["dropout"]):
        shapes = ", ".join(str(tuple(inp.shape)) for inp, _ in seen["dropout"])
        raise AssertionError(f"model.dropout must take h_n[-1] {tuple(last.shape)} and feed the head "
                             f"(head(dropout(h_n[-1]))); it was applied to tensors of shape {shapes} instead "
                             f"(dropout on the embeddings is not the source's model)")


@quiet
def check_classifier_frozen_gradients(cls) -> None:
    """In training, the frozen embedding gets no gradient (and an optimiser step leaves it as it
    was), while every LSTM weight and the head do."""
    model, _ = _model(cls, seed=2)
    before = model.embed.weight.detach().clone()
    model.train()
    x = torch.tensor([[3, 7, 1, 9], [4, 2, 6, 0]])
    lengths, targets = torch.tensor([4, 3]), torch.tensor([1.0, 0.0])
    _, loss = _call(model, x, lengths, targets)
    loss.backward()
    grad = model.embed.weight.grad
    if grad is not None and torch.any(grad != 0):
        raise AssertionError("the embedding received a gradient: it must be frozen (freeze=True)")
    for name, p in list(model.lstm.named_parameters()) + list(model.head.named_parameters()):
        if p.grad is None or not torch.any(p.grad != 0):
            raise AssertionError(f"the LSTM/head parameter {name} received no gradient (is the logit computed "
                                 f"from h_n[-1], the last layer's state, so that every layer is used?)")
    torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=0.1).step()
    if not torch.equal(model.embed.weight.detach(), before):
        raise AssertionError("an optimiser step changed the embedding; it must stay frozen")


def heldout_accuracy(cls, device, seed: int = 0) -> float:
    """Train ``cls`` frozen on reviews with the seen adjectives; accuracy on the held-out ones."""
    from gensim.models import Word2Vec

    unlabelled = [tokenize(t) for t in make_unlabelled_reviews(HELDOUT["n_unlabelled"], seed=seed + 50)]
    kv = Word2Vec(unlabelled, vector_size=32, window=5, min_count=1, sg=1, epochs=5, workers=1, seed=seed,
                  hashfxn=stable_hash).wv
    plain = ("plain",)
    train = make_reviews(HELDOUT["n_train"], seed=seed + 60, kinds=plain, adjectives="seen")
    test = make_reviews(HELDOUT["n_test"], seed=seed + 61, kinds=plain, adjectives="heldout")
    vocab = Vocab.build([tokenize(r.text) for r in train] + unlabelled, specials=("<pad>", "<unk>"))
    gen = torch.Generator().manual_seed(seed)
    vectors = torch.randn(len(vocab), kv.vector_size, generator=gen) * float(kv.vectors.std())
    for i, token in enumerate(vocab.itos):
        if token in kv.key_to_index:
            vectors[i] = torch.from_numpy(kv[token].copy())
    vectors[vocab.pad_id] = 0.0

    def tensors(reviews):
        ids, lengths = pad_sequences([vocab.encode(tokenize(r.text)) for r in reviews], pad_id=vocab.pad_id)
        return ids.to(device), lengths.to(device), torch.tensor([float(r.label) for r in reviews], device=device)

    torch.manual_seed(seed)
    model = cls(vectors, hidden_size=HELDOUT["hidden_size"], pad_id=vocab.pad_id).to(device)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=HELDOUT["lr"])
    x, lengths, y = tensors(train)
    gen = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(HELDOUT["epochs"]):
        for batch in torch.randperm(len(train), generator=gen).split(HELDOUT["batch_size"]):
            batch = batch.to(device)
            _, loss = model(x[batch], lengths[batch], targets=y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    model.eval()
    x, lengths, y = tensors(test)
    with torch.no_grad():
        logits, _ = model(x, lengths)
    return ((logits > 0).float() == y).float().mean().item()


@quiet
def check_heldout_accuracy(cls, device=None) -> None:
    """With frozen pretrained vectors, the classifier reaches the threshold on reviews whose
    adjectives it never saw in training."""
    device = torch.device(device) if device is not None else torch.device("cpu")
    accuracy = heldout_accuracy(cls, device, seed=1)
    if accuracy < HELDOUT["target"]:
        raise AssertionError(f"accuracy on the held-out adjectives is {accuracy:.3f}, below {HELDOUT['target']}; a "
                             f"correct frozen classifier scores about 0.98 here. Check that the embedding keeps the "
                             f"pretrained vectors and that logits come from h_n[-1].")
