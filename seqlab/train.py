"""One training loop for every model in the course. Introduced in chapter 1.

Every model follows one interface (as in nanoGPT and makemore)::

    logits, loss = model(*inputs, targets=targets)   # loss is None when targets is None

and every batch a loader yields is a tuple ``(*inputs, targets)``: e.g. ``(x, y)`` or
``(x, lengths, y)``. So the same :func:`fit` and :func:`evaluate` serve the n-gram-window LM,
the RNNs, the LSTM classifiers and the attention models.
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from collections.abc import Iterable

import torch
from torch import nn
from tqdm.auto import tqdm

IGNORE_INDEX = -100  # targets equal to this are left out of loss and accuracy (PyTorch's default)


@dataclass
class History:
    """What :func:`fit` measured, one entry per epoch unless said otherwise."""

    train_loss: list[float] = field(default_factory=list)   # mean training loss of each epoch
    val_loss: list[float] = field(default_factory=list)     # validation loss after each epoch
    val_accuracy: list[float] = field(default_factory=list)  # validation accuracy after each epoch
    grad_norm: list[float] = field(default_factory=list)    # global grad norm of every *step*, before clipping
    step_loss: list[float] = field(default_factory=list)    # training loss of every *step*
    best_epoch: int | None = None    # epoch (0-based) with the lowest validation loss
    stopped_early: bool = False      # True when patience ran out before `epochs`
    seconds: float = 0.0             # wall-clock training time

    @property
    def epochs(self) -> int:
        return len(self.train_loss)


def _to_device(batch: Iterable[torch.Tensor], device: torch.device) -> list[torch.Tensor]:
    return [t.to(device) for t in batch]


def _count_and_correct(logits: torch.Tensor, targets: torch.Tensor) -> tuple[int, int]:
    """Number of scored targets and of correct predictions.

    ``logits`` is ``(..., C)`` with targets ``(...)`` of class ids (``IGNORE_INDEX`` skipped), or
    ``(..., 1)`` / ``(...)`` with 0/1 float targets for a binary (sigmoid) classifier.
    """
    if targets.is_floating_point():  # binary classifier with one logit
        pred = (logits.reshape(targets.shape) > 0).to(targets.dtype)
        return targets.numel(), int((pred == targets).sum())
    mask = targets != IGNORE_INDEX
    pred = logits.argmax(dim=-1)
    return int(mask.sum()), int(((pred == targets) & mask).sum())


@torch.no_grad()
def evaluate(model: nn.Module, loader: Iterable, device: torch.device | str | None = None) -> dict[str, float]:
    """Mean loss, perplexity and accuracy of ``model`` over ``loader``.

    The mean is per scored target (per token for a language model), not per batch, so a short
    last batch is not over-weighted. ``perplexity = exp(loss)`` (natural log), meaningful for
    language models.
    """
    device = torch.device(device) if device is not None else next(model.parameters()).device
    was_training = model.training
    model.eval()
    total_loss, total_n, total_correct = 0.0, 0, 0
    for batch in loader:
        *inputs, targets = _to_device(batch, device)
        logits, loss = model(*inputs, targets=targets)
        n, correct = _count_and_correct(logits, targets)
        if n == 0:  # every target ignored: the batch's mean loss is NaN and carries no weight
            continue
        total_loss += loss.item() * n
        total_n += n
        total_correct += correct
    model.train(was_training)
    if total_n == 0:
        raise ValueError("evaluate() got an empty loader (no targets to score)")
    mean = total_loss / total_n
    return {"loss": mean, "perplexity": math.exp(min(mean, 700.0)), "accuracy": total_correct / total_n}


def grad_global_norm(model: nn.Module) -> float:
    """The L2 norm of all parameter gradients taken together (parameters without one skipped)."""
    norms = [p.grad.detach().norm(2) for p in model.parameters() if p.grad is not None]
    return float(torch.linalg.vector_norm(torch.stack(norms), 2)) if norms else 0.0


class TrainingTooSlow(RuntimeError):
    """:func:`fit` ran past its ``max_seconds`` guard (the run is abandoned, not shortened)."""


def fit(
    model: nn.Module,
    train_loader: Iterable,
    optimizer: torch.optim.Optimizer,
    *,
    epochs: int = 10,
    val_loader: Iterable | None = None,
    device: torch.device | str | None = None,
    clip_grad_norm: float | None = None,
    clip_grad_value: float | None = None,
    patience: int | None = None,
    min_delta: float = 0.0,
    restore_best: bool = True,
    max_seconds: float | None = None,
    progress: bool = True,
    verbose: bool = True,
) -> History:
    """Train ``model`` and return its :class:`History`.

    - ``clip_grad_norm``: rescale all gradients together so that their global L2 norm is at most
      this (chapter 3); ``clip_grad_value``: clamp every gradient entry to ``[-v, v]``.
    - ``patience``: early stopping. Stop when the validation loss has not improved by more than
      ``min_delta`` for ``patience`` epochs in a row (Keras' ``EarlyStopping`` semantics); with
      ``restore_best`` the weights of the best epoch are loaded back at the end.
    - ``max_seconds``: a wall-clock *guard*, never a budget: if a step ends after this many
      seconds, :class:`TrainingTooSlow` is raised. Budgets are in epochs (and steps, through the
      loader), so a result never depends on how fast the machine is; the guard only turns a run
      that is far slower than expected into a loud error instead of a silently shorter one.
    - ``progress`` shows a tqdm bar over the batches; ``verbose`` prints one line per epoch.
    """
    if patience is not None and val_loader is None:
        raise ValueError("early stopping (patience) needs a val_loader")
    device = torch.device(device) if device is not None else next(model.parameters()).device
    model.to(device)
    history = History()
    best_loss, best_state, bad_epochs = math.inf, None, 0
    start = time.perf_counter()
    for epoch in range(epochs):
        model.train()
        running, n_batches = 0.0, 0
        bar = tqdm(train_loader, desc=f"epoch {epoch + 1}/{epochs}", leave=False, disable=not progress)
        for batch in bar:
            *inputs, targets = _to_device(batch, device)
            _, loss = model(*inputs, targets=targets)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            history.grad_norm.append(grad_global_norm(model))
            if clip_grad_value is not None:
                nn.utils.clip_grad_value_(model.parameters(), clip_grad_value)
            if clip_grad_norm is not None:
                nn.utils.clip_grad_norm_(model.parameters(), clip_grad_norm)
            optimizer.step()
            step_loss = loss.item()
            running += step_loss
            n_batches += 1
            history.step_loss.append(step_loss)
            bar.set_postfix(loss=f"{step_loss:.4f}")
            if max_seconds is not None and (elapsed := time.perf_counter() - start) > max_seconds:
                raise TrainingTooSlow(
                    f"training took {elapsed:.1f} s, over the {max_seconds:g} s guard, after "
                    f"{len(history.step_loss)} steps (epoch {epoch + 1} of {epochs}); the run was "
                    f"not shortened: raise max_seconds or use a faster device")
        history.train_loss.append(running / max(n_batches, 1))
        line = f"epoch {epoch + 1:3d}  train loss {history.train_loss[-1]:.4f}"
        if val_loader is not None:
            metrics = evaluate(model, val_loader, device)
            history.val_loss.append(metrics["loss"])
            history.val_accuracy.append(metrics["accuracy"])
            line += f"  val loss {metrics['loss']:.4f}  val acc {metrics['accuracy']:.3f}"
            if metrics["loss"] < best_loss - min_delta:
                best_loss, bad_epochs, history.best_epoch = metrics["loss"], 0, epoch
                if restore_best:
                    best_state = copy.deepcopy(model.state_dict())
            else:
                bad_epochs += 1
        if verbose:
            print(line)
        if patience is not None and bad_epochs >= patience:
            history.stopped_early = True
            if verbose:
                print(f"early stopping: no improvement > {min_delta} for {patience} epochs; "
                      f"best epoch {history.best_epoch + 1}")
            break
    if restore_best and best_state is not None:
        model.load_state_dict(best_state)
    history.seconds = time.perf_counter() - start
    return history
