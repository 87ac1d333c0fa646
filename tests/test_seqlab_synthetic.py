"""seqlab.synthetic.memory_task: shapes, the label is the first token, distractor range, seeding, errors."""
from __future__ import annotations

import pytest
import torch

from seqlab.synthetic import memory_task


@pytest.mark.parametrize("n, T", [(1, 0), (5, 1), (64, 20), (3, 100)])
def test_shapes_and_dtypes(n, T):
    x, y = memory_task(n, T)
    assert x.shape == (n, T + 1) and y.shape == (n,)
    assert x.dtype == torch.long and y.dtype == torch.long


def test_label_is_the_first_token_and_a_class_id():
    x, y = memory_task(500, 10, num_classes=5, seed=3)
    assert torch.equal(x[:, 0], y)
    assert int(y.min()) >= 0 and int(y.max()) < 5
    assert set(y.tolist()) == set(range(5)), "500 draws should use every class"


def test_distractors_are_never_class_tokens():
    x, _ = memory_task(400, 30, num_classes=4, vocab_size=9, seed=1)
    distractors = x[:, 1:]
    assert int(distractors.min()) >= 4 and int(distractors.max()) <= 8
    assert set(distractors.unique().tolist()) == set(range(4, 9)), "every distractor id should occur"


def test_default_vocab_size_is_num_classes_plus_8():
    x, _ = memory_task(1000, 20, num_classes=3)
    assert int(x[:, 1:].max()) == 3 + 8 - 1


def test_same_seed_same_data_other_seed_other_data():
    a, b = memory_task(50, 12, seed=7), memory_task(50, 12, seed=7)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    c = memory_task(50, 12, seed=8)
    assert not torch.equal(a[0], c[0])


def test_global_rng_is_untouched():
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    memory_task(10, 5)
    assert torch.equal(torch.rand(3), expected), "memory_task must use its own generator"


def test_labels_roughly_balanced():
    _, y = memory_task(4000, 1, num_classes=4)
    share = torch.bincount(y, minlength=4).float() / 4000
    assert torch.all((share - 0.25).abs() < 0.03), share


@pytest.mark.parametrize("kwargs", [dict(n=0, T=5), dict(n=5, T=-1), dict(n=5, T=5, num_classes=4, vocab_size=4),
                                    dict(n=5, T=5, num_classes=6, vocab_size=3),
                                    dict(n=5, T=5, num_classes=0)])
def test_invalid_arguments_raise(kwargs):
    with pytest.raises(ValueError):
        memory_task(**kwargs)
