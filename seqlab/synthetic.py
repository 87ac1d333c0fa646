"""Synthetic sequence tasks, generated with a fixed seed (always labelled synthetic in the text).

Introduced in chapter 3.
"""
from __future__ import annotations

import torch


def memory_task(
    n: int,
    T: int,
    num_classes: int = 4,
    vocab_size: int | None = None,
    seed: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The long-term memory task: remember the first token across ``T`` distractors.

    Each sequence is ``[label_token, d_1, ..., d_T]``: the first token is one of ``num_classes``
    class tokens (ids ``0..num_classes-1``), the ``T`` distractors are drawn uniformly from the
    other ids ``num_classes..vocab_size-1``. The target is the class of the first token, so a model
    that reads left to right must carry it for ``T`` steps. Chance accuracy is ``1/num_classes``.

    Returns ``x`` of shape ``(n, T + 1)`` (LongTensor) and ``y`` of shape ``(n,)``.
    """
    if num_classes < 1:
        raise ValueError(f"need num_classes >= 1, got {num_classes}")
    vocab_size = vocab_size if vocab_size is not None else num_classes + 8
    if vocab_size <= num_classes:
        raise ValueError(f"vocab_size ({vocab_size}) must exceed num_classes ({num_classes})")
    if n < 1 or T < 0:
        raise ValueError(f"need n >= 1 and T >= 0, got n={n}, T={T}")
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, num_classes, (n,), generator=g)
    distractors = torch.randint(num_classes, vocab_size, (n, T), generator=g)
    x = torch.cat([y[:, None], distractors], dim=1)  # (n, T + 1)
    return x, y
