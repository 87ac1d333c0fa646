"""Length-bucketed batches and word-level language-model data for the book-wide comparison.
Introduced in chapter 7.

Every model of the comparison scores exactly Chapter 1's test predictions: each word of each
sentence and one ``</s>`` per sentence, never ``<s>``, with rare words mapped to ``<unk>``:

- a fixed-window model reads the ``context`` previous tokens, padded with ``<s>``
  (:func:`window_tensors`, Chapter 1's training examples);
- a recurrent or causal Transformer model reads the sentence from ``<s>`` and predicts every next
  token (:func:`sentence_pairs`)::

      x:  <s>  the  cat  sat          <pad> <pad>     inputs, padded with <pad>
      y:  the  cat  sat  </s>         -100  -100      targets, padding ignored by the loss

  :class:`LengthBatches` groups sentences of similar length, so that little compute is spent on
  padding, and reshuffles the batches every epoch with its own seeded generator.

:class:`LengthBuckets` does the same for padded classifier inputs ``(ids, lengths, labels)``.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
from torch import nn

from seqlab.ngram import ngram_events
from seqlab.text import BOS, EOS, Vocab
from seqlab.train import IGNORE_INDEX


def window_tensors(sentences: Sequence[Sequence[str]], vocab: Vocab, context: int
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """Every prediction of ``sentences`` as ``(x, y)``: ``x`` ``(N, context)`` ids of the previous
    ``context`` tokens (``<s>``-padded), ``y`` ``(N,)`` the id of the token to predict."""
    events = [e for sentence in sentences for e in ngram_events(sentence, context + 1)]
    x = torch.tensor([vocab.encode(h) for h, _ in events], dtype=torch.long).view(len(events), context)
    y = torch.tensor([vocab[w] for _, w in events], dtype=torch.long)
    return x, y


def sentence_pairs(sentences: Sequence[Sequence[str]], vocab: Vocab) -> list[tuple[list[int], list[int]]]:
    """``(input ids, target ids)`` per sentence: ``<s> w_1 .. w_n`` -> ``w_1 .. w_n </s>``."""
    pairs = []
    for sentence in sentences:
        ids = vocab.encode([BOS, *sentence, EOS])
        pairs.append((ids[:-1], ids[1:]))
    return pairs


def pad_pairs(pairs: Sequence[tuple[list[int], list[int]]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad a list of ``(input, target)`` pairs to ``(B, T)`` tensors: inputs with ``pad_id``,
    targets with ``IGNORE_INDEX`` (so the loss and :func:`seqlab.evaluate` skip them)."""
    if not pairs:
        raise ValueError("pad_pairs needs at least one pair")
    T = max(len(x) for x, _ in pairs)
    x = torch.full((len(pairs), T), pad_id, dtype=torch.long)
    y = torch.full((len(pairs), T), IGNORE_INDEX, dtype=torch.long)
    for row, (inputs, targets) in enumerate(pairs):
        if len(inputs) != len(targets):
            raise ValueError(f"pair {row}: input and target lengths differ ({len(inputs)} vs {len(targets)})")
        x[row, :len(inputs)] = torch.tensor(inputs, dtype=torch.long)
        y[row, :len(targets)] = torch.tensor(targets, dtype=torch.long)
    return x, y


class LengthBatches:
    """Batches ``(x, y)`` of sentences of similar length (see :func:`pad_pairs`).

    The pairs are sorted by length and cut into batches of ``batch_size``; with ``shuffle`` the
    order of the batches (not their content) is reshuffled on every pass, from a generator seeded
    with ``seed``, so training is reproducible. Iterating yields CPU tensors; ``len`` is the
    number of batches.
    """

    def __init__(self, pairs: Sequence[tuple[list[int], list[int]]], pad_id: int, batch_size: int = 32,
                 shuffle: bool = False, seed: int = 0):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        order = sorted(range(len(pairs)), key=lambda i: (len(pairs[i][0]), i))
        self.batches = [pad_pairs([pairs[i] for i in order[k:k + batch_size]], pad_id)
                        for k in range(0, len(order), batch_size)]
        self.shuffle = shuffle
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        order = torch.randperm(len(self.batches), generator=self.generator) if self.shuffle else range(len(self.batches))
        for i in order:
            yield self.batches[int(i)]

    def n_targets(self) -> int:
        """The number of scored targets over all batches (padding excluded)."""
        return int(sum((y != IGNORE_INDEX).sum() for _, y in self.batches))


class LengthBuckets:
    """Batches ``(ids, lengths, *others)`` of padded sequences of similar length, each batch cut to
    its longest row, for classifiers (Chapter 7's reviews).

    ``ids`` is ``(N, T)`` padded at the end, ``lengths`` ``(N,)``; ``others`` are further ``(N, ...)``
    tensors (labels). Rows are sorted by length and cut into batches of ``batch_size``, so a batch
    of short reviews is not padded to the longest review of the data set (attention's cost grows
    with the square of the padded length). With ``shuffle`` the order of the batches is reshuffled
    on every pass from a generator seeded with ``seed``.
    """

    def __init__(self, ids: torch.Tensor, lengths: torch.Tensor, *others: torch.Tensor, batch_size: int = 64,
                 shuffle: bool = False, seed: int = 0):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if any(len(t) != len(ids) for t in (lengths, *others)):
            raise ValueError("ids, lengths and the other tensors must have the same number of rows")
        order = torch.argsort(lengths, stable=True)
        self.batches = []
        for k in range(0, len(order), batch_size):
            rows = order[k:k + batch_size]
            longest = int(lengths[rows].max())
            self.batches.append((ids[rows, :longest], lengths[rows], *(t[rows] for t in others)))
        self.shuffle = shuffle
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, ...]]:
        order = torch.randperm(len(self.batches), generator=self.generator) if self.shuffle else range(len(self.batches))
        for i in order:
            yield self.batches[int(i)]


def count_parameters(model: nn.Module) -> int:
    """The number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
