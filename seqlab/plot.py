"""Plotting helpers: loss curves, log-scale profiles, heat maps, 2-D embeddings.

Introduced in chapter 1. Each function draws on ``ax`` (or a new figure) and returns the axes,
so a notebook can add titles or combine panels. Tensors are moved to the CPU here, the only
place they need to be.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch


def _np(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().float().cpu().numpy()
    return np.asarray(x)


def _axes(ax=None, figsize=(6, 4)):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def plot_history(history, ax=None, title: str | None = None):
    """Training and validation loss per epoch from a :class:`seqlab.train.History`."""
    ax = _axes(ax)
    epochs = np.arange(1, len(history.train_loss) + 1)
    ax.plot(epochs, history.train_loss, marker="o", label="train")
    if history.val_loss:
        ax.plot(epochs, history.val_loss, marker="o", label="validation")
    if history.best_epoch is not None:
        ax.axvline(history.best_epoch + 1, color="grey", ls=":", label="best epoch")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.legend()
    if title:
        ax.set_title(title)
    return ax


def plot_curves(
    curves: Mapping[str, Sequence[float]],
    xs: Sequence[float] | Mapping[str, Sequence[float]] | None = None,
    ax=None,
    logy: bool = False,
    xlabel: str = "",
    ylabel: str = "",
    title: str | None = None,
    marker: str | None = "o",
):
    """Several named curves on one axes, e.g. ``{"add-1": ppl, "interpolated": ppl}``.

    ``xs`` is shared by all curves or given per name; ``logy`` draws a log-scale y axis (for
    geometric growth or decay, which then looks like a straight line).
    """
    ax = _axes(ax)
    for name, ys in curves.items():
        ys = _np(ys)
        x = xs.get(name) if isinstance(xs, Mapping) else xs
        x = np.arange(len(ys)) if x is None else _np(x)
        ax.plot(x, ys, marker=marker, label=name)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend()
    return ax


def heatmap(
    matrix,
    row_labels: Sequence[str] | None = None,
    col_labels: Sequence[str] | None = None,
    ax=None,
    cmap: str = "viridis",
    title: str | None = None,
    annotate: bool = False,
):
    """A matrix as a heat map, e.g. attention weights ``(T_out, T_in)``; rows are queries."""
    m = _np(matrix)
    if m.ndim != 2:
        raise ValueError(f"heatmap needs a 2-D matrix, got shape {m.shape}")
    ax = _axes(ax, figsize=(max(4, 0.5 * m.shape[1] + 2), max(3, 0.5 * m.shape[0] + 1)))
    image = ax.imshow(m, cmap=cmap, aspect="auto")
    ax.figure.colorbar(image, ax=ax)
    if row_labels is not None:
        ax.set_yticks(range(len(row_labels)), labels=list(row_labels))
    if col_labels is not None:
        ax.set_xticks(range(len(col_labels)), labels=list(col_labels), rotation=60, ha="right")
    if annotate:
        for i in range(m.shape[0]):
            for j in range(m.shape[1]):
                ax.text(j, i, f"{m[i, j]:.2f}", ha="center", va="center", color="w", fontsize=8)
    if title:
        ax.set_title(title)
    return ax


def scatter_2d(vectors, labels: Sequence[str], ax=None, title: str | None = None):
    """Project ``vectors`` ``(N, D)`` to 2-D with PCA and label each point."""
    v = _np(vectors).astype(np.float64)
    if v.ndim != 2 or v.shape[0] != len(labels):
        raise ValueError(f"need vectors (N, D) with N == len(labels); got {v.shape} and {len(labels)}")
    v = v - v.mean(axis=0)
    _, _, vt = np.linalg.svd(v, full_matrices=False)
    xy = v @ vt[:2].T
    ax = _axes(ax, figsize=(6, 6))
    ax.scatter(xy[:, 0], xy[:, 1], s=12)
    for (x, y), label in zip(xy, labels):
        ax.annotate(label, (x, y), fontsize=9, xytext=(3, 3), textcoords="offset points")
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    if title:
        ax.set_title(title)
    return ax


def attention_sentences(
    tokens: Sequence[Sequence[str]],
    weights: Sequence,
    row_labels: Sequence[str] | None = None,
    ax=None,
    cmap: str = "Reds",
    title: str | None = None,
):
    """Attention weights over several sentences: one row per sentence, each token written in its
    cell, coloured by its weight. Introduced in chapter 6.

    ``weights[i]`` holds one weight per token of ``tokens[i]`` (real tokens only: pass the weights
    without padding, or longer rows, which are cut to the sentence's length). Cells after a
    shorter sentence's end stay blank.
    """
    if len(tokens) == 0 or len(tokens) != len(weights):
        raise ValueError(f"need as many weight rows as sentences (at least one); got {len(tokens)} and {len(weights)}")
    T = max(len(t) for t in tokens)
    m = np.full((len(tokens), T), np.nan)
    for i, (toks, w) in enumerate(zip(tokens, weights)):
        w = _np(w).reshape(-1)
        if len(w) < len(toks):
            raise ValueError(f"row {i}: {len(toks)} tokens but only {len(w)} weights")
        m[i, :len(toks)] = w[:len(toks)]
    ax = _axes(ax, figsize=(max(6, 0.75 * T), 0.45 * len(tokens) + 1.2))
    vmax = float(np.nanmax(m)) if np.isfinite(m).any() else 1.0
    image = ax.imshow(np.ma.masked_invalid(m), cmap=cmap, aspect="auto", vmin=0.0, vmax=vmax)
    ax.figure.colorbar(image, ax=ax, label="attention weight")
    for i, toks in enumerate(tokens):
        for j, tok in enumerate(toks):
            ax.text(j, i, tok, ha="center", va="center", fontsize=7,
                    color="white" if m[i, j] > 0.6 * vmax else "black")
    ax.set_xticks(range(T))
    ax.set_xlabel("token position")
    ax.set_yticks(range(len(tokens)), labels=list(row_labels) if row_labels is not None else [""] * len(tokens))
    if title:
        ax.set_title(title)
    return ax
