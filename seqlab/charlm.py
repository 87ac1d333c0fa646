"""Character-level language-model data: text, a character vocabulary, and batches for truncated
backpropagation through time. Introduced in chapter 2.

A character model reads one long stream of text. To train on it in mini-batches, the stream is
cut into ``B`` equally long pieces, one per row (:func:`batchify`), and the rows are read left to
right in windows of ``T`` characters (:func:`tbptt_batches`)::

    text:     a b c d e f g h i j k l m n o p q r s t u v w x      (N = 24)
    streams:  a b c d e f g h          row 0    batchify(ids, 3) -> (3, 8)
              i j k l m n o p          row 1
              q r s t u v w x          row 2
    batch 1:  x = [a b c]  y = [b c d]   tbptt_batches(streams, 3): windows of every row,
    batch 2:  x = [d e f]  y = [e f g]   y is x shifted by one character (row 0 shown)
    batch 3:  x = [g]      y = [h]

Window ``k + 1`` of a row continues window ``k`` of the same row, so a recurrent model can carry
its hidden state from one batch to the next.
"""
from __future__ import annotations

from collections.abc import Iterable

import torch

from seqlab.data import lee_sentences
from seqlab.text import UNK, Vocab


def lee_text(split: str = "train", fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
             seed: int = 0) -> str:
    """The Lee corpus sentences of ``split`` as one string of characters.

    The sentences are exactly those of :func:`seqlab.data.lee_sentences` (same split by article,
    same lower-cased tokens): tokens joined by single spaces, every sentence ending with a newline.
    So a character model and chapter 1's word models see the same held-out text.
    """
    sentences = lee_sentences(split, fractions=fractions, seed=seed, lower=True)
    return "".join(" ".join(tokens) + "\n" for tokens in sentences)


def char_vocab(text: str) -> Vocab:
    """A :class:`~seqlab.text.Vocab` of the characters of ``text``: ``<unk>`` is id 0 (for characters
    never seen in ``text``), then the characters by decreasing frequency."""
    return Vocab.build([list(text)], specials=(UNK,))


def encode(text: str, vocab: Vocab) -> torch.Tensor:
    """Characters -> LongTensor of ids, shape ``(len(text),)``."""
    return torch.tensor(vocab.encode(list(text)), dtype=torch.long)


def decode(ids: Iterable[int], vocab: Vocab) -> str:
    """Ids (a list or 1-D tensor) -> string."""
    return "".join(vocab.decode(ids))


def batchify(ids: torch.Tensor, batch_size: int) -> torch.Tensor:
    """Cut a 1-D id sequence ``(N,)`` into ``batch_size`` contiguous streams: shape
    ``(batch_size, N // batch_size)``, row ``b`` holding ``ids[b * L:(b + 1) * L]``. The last
    ``N % batch_size`` ids are dropped."""
    if ids.dim() != 1:
        raise ValueError(f"batchify needs a 1-D tensor of ids, got shape {tuple(ids.shape)}")
    if not 1 <= batch_size <= len(ids):
        raise ValueError(f"batch_size must be between 1 and len(ids) = {len(ids)}, got {batch_size}")
    length = len(ids) // batch_size
    return ids[: batch_size * length].view(batch_size, length)


def tbptt_batches(streams: torch.Tensor, seq_len: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Consecutive windows ``(x, y)`` over ``streams`` ``(B, L)`` for truncated backpropagation
    through time.

    ``x`` is ``streams[:, i:i + T]`` and ``y`` the same window shifted one character to the right
    (the next character of every position), both ``(B, T)`` with ``T = seq_len`` except for a
    shorter last window. Every position but the last of each row is predicted exactly once, in
    order, so a model may carry its hidden state from one window to the next.
    """
    if streams.dim() != 2:
        raise ValueError(f"streams must be (B, L), got shape {tuple(streams.shape)}")
    if seq_len < 1:
        raise ValueError(f"seq_len must be >= 1, got {seq_len}")
    return [_window(streams, i, seq_len) for i in range(0, streams.size(1) - 1, seq_len)]


def _window(streams: torch.Tensor, start: int, seq_len: int) -> tuple[torch.Tensor, torch.Tensor]:
    stop = min(start + seq_len, streams.size(1) - 1)  # the last position has no next character
    return streams[:, start:stop], streams[:, start + 1:stop + 1]
