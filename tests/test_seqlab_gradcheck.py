import numpy as np
import pytest

from seqlab.gradcheck import numerical_gradient, relative_error


def test_numerical_gradient_of_a_known_function_and_x_restored():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 4))
    a = rng.normal(size=(3, 4))
    before = x.copy()
    grad = numerical_gradient(lambda: np.sum(np.tanh(x) * a), x)
    assert grad.shape == x.shape
    assert relative_error((1 - np.tanh(x) ** 2) * a, grad) < 1e-8
    assert np.array_equal(x, before)


def test_numerical_gradient_rejects_non_arrays_and_non_contiguous_views():
    with pytest.raises(TypeError):
        numerical_gradient(lambda: 0.0, [1.0, 2.0])
    x = np.zeros((3, 4)).T  # a transposed view: flattening it needs a copy
    with pytest.raises(ValueError):
        numerical_gradient(lambda: 0.0, x)


def test_relative_error():
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert relative_error([1.0, 2.0], [1.0, 2.0]) == 0.0
    assert relative_error([1.0, 0.0], [1.0, 1e-12]) == pytest.approx(1e-12)  # no blow-up near zero
    assert relative_error([2.0, 0.0], [1.0, 0.0]) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        relative_error(np.zeros(2), np.zeros(3))
