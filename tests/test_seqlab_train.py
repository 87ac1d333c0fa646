import math

import pytest
import torch
from torch import nn
import torch.nn.functional as F

from seqlab.text import make_loader
from seqlab.train import IGNORE_INDEX, evaluate, fit, grad_global_norm


class Linear(nn.Module):
    """A tiny classifier following the course's interface: logits, loss = model(x, targets)."""

    def __init__(self, d=4, c=3):
        super().__init__()
        self.fc = nn.Linear(d, c)

    def forward(self, x, targets=None):
        logits = self.fc(x)
        loss = None if targets is None else F.cross_entropy(logits, targets, ignore_index=IGNORE_INDEX)
        return logits, loss


def separable_data(n=256, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=g)
    y = x[:, :3].argmax(dim=1)
    return x, y


def test_fit_learns_and_records_history():
    torch.manual_seed(0)
    x, y = separable_data()
    model = Linear()
    hist = fit(model, make_loader(x, y, batch_size=32), torch.optim.Adam(model.parameters(), lr=0.05),
               epochs=15, val_loader=make_loader(x, y, shuffle=False), progress=False, verbose=False)
    assert hist.epochs == 15 and len(hist.val_loss) == 15
    assert len(hist.step_loss) == len(hist.grad_norm) == 15 * 8
    assert hist.train_loss[-1] < 0.5 * hist.train_loss[0]
    assert evaluate(model, make_loader(x, y, shuffle=False))["accuracy"] > 0.9
    assert hist.seconds > 0


def test_evaluate_weights_by_targets_and_skips_ignored():
    model = Linear()
    x, y = separable_data(10)
    y[:4] = IGNORE_INDEX
    m_small = evaluate(model, make_loader(x, y, batch_size=3, shuffle=False))
    m_full = evaluate(model, make_loader(x, y, batch_size=10, shuffle=False))
    assert m_small["loss"] == pytest.approx(m_full["loss"], rel=1e-5)
    assert m_full["perplexity"] == pytest.approx(math.exp(m_full["loss"]))
    with torch.no_grad():
        logits, _ = model(x)
    correct = (logits.argmax(1)[4:] == y[4:]).float().mean().item()
    assert m_full["accuracy"] == pytest.approx(correct)


def test_evaluate_binary_single_logit():
    class Binary(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.tensor([1.0]))

        def forward(self, x, targets=None):
            logits = x * self.w
            return logits, None if targets is None else F.binary_cross_entropy_with_logits(logits, targets)

    x = torch.tensor([-2.0, -1.0, 1.0, 2.0])
    y = torch.tensor([0.0, 1.0, 1.0, 1.0])
    assert evaluate(Binary(), make_loader(x, y, shuffle=False))["accuracy"] == pytest.approx(0.75)


def test_empty_loader_is_an_error():
    with pytest.raises(ValueError, match="empty"):
        evaluate(Linear(), [])


def test_early_stopping_restores_best_weights():
    torch.manual_seed(0)
    x, y = separable_data(64)
    xv, yv = separable_data(64, seed=1)
    yv = (yv + 1) % 3  # validation labels that training makes worse: val loss rises from epoch 1
    model = Linear()
    hist = fit(model, make_loader(x, y, batch_size=16), torch.optim.SGD(model.parameters(), lr=0.5),
               epochs=50, val_loader=make_loader(xv, yv), patience=3, min_delta=1e-4,
               progress=False, verbose=False)
    assert hist.stopped_early and hist.epochs == hist.best_epoch + 1 + 3
    restored = evaluate(model, make_loader(xv, yv))["loss"]
    assert restored == pytest.approx(hist.val_loss[hist.best_epoch], rel=1e-5)


def test_patience_needs_validation():
    with pytest.raises(ValueError, match="val_loader"):
        fit(Linear(), [], torch.optim.SGD(Linear().parameters(), lr=0.1), patience=2)


def test_clip_grad_norm_bounds_the_update():
    x, y = separable_data(32)
    model = Linear()
    before = [p.detach().clone() for p in model.parameters()]
    fit(model, make_loader(x * 1000, y, batch_size=32), torch.optim.SGD(model.parameters(), lr=1.0),
        epochs=1, clip_grad_norm=0.01, progress=False, verbose=False)
    step = torch.sqrt(sum(((p.detach() - b) ** 2).sum() for p, b in zip(model.parameters(), before)))
    assert step.item() <= 0.01 + 1e-6  # one SGD step of lr 1 moves at most max_norm


def test_clip_grad_value_bounds_each_entry():
    x, y = separable_data(32)
    model = Linear()
    before = [p.detach().clone() for p in model.parameters()]
    fit(model, make_loader(x * 1000, y, batch_size=32), torch.optim.SGD(model.parameters(), lr=1.0),
        epochs=1, clip_grad_value=0.001, progress=False, verbose=False)
    assert all((p.detach() - b).abs().max() <= 0.001 + 1e-7 for p, b in zip(model.parameters(), before))


def test_max_seconds_is_a_loud_guard_not_a_budget():
    """Past the guard, training fails with a message; it never returns a shorter run."""
    from seqlab.train import TrainingTooSlow
    x, y = separable_data(256)
    model = Linear()
    with pytest.raises(TrainingTooSlow, match="not shortened"):
        fit(model, make_loader(x, y, batch_size=1), torch.optim.SGD(model.parameters(), lr=0.01),
            epochs=1000, max_seconds=0.0, progress=False, verbose=False)
    # a guard that is not reached changes nothing: same steps as without it
    a, b = Linear(), Linear()
    b.load_state_dict(a.state_dict())
    torch.manual_seed(0)
    h1 = fit(a, make_loader(x, y, batch_size=32, seed=0), torch.optim.SGD(a.parameters(), lr=0.1), epochs=2,
             progress=False, verbose=False)
    torch.manual_seed(0)
    h2 = fit(b, make_loader(x, y, batch_size=32, seed=0), torch.optim.SGD(b.parameters(), lr=0.1), epochs=2,
             max_seconds=3600, progress=False, verbose=False)
    assert h1.step_loss == h2.step_loss


def test_grad_global_norm():
    model = Linear()
    assert grad_global_norm(model) == 0.0
    for p in model.parameters():
        p.grad = torch.full_like(p, 2.0)
    n = sum(p.numel() for p in model.parameters())
    assert grad_global_norm(model) == pytest.approx(2.0 * math.sqrt(n))


def test_fit_prints_one_line_per_epoch(capsys):
    x, y = separable_data(32)
    model = Linear()
    fit(model, make_loader(x, y), torch.optim.SGD(model.parameters(), lr=0.1), epochs=2,
        val_loader=make_loader(x, y), progress=False)
    lines = [l for l in capsys.readouterr().out.splitlines() if l.startswith("epoch")]
    assert len(lines) == 2 and "val loss" in lines[0]
