import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from seqlab import checks, plot  # noqa: E402
from seqlab.train import History  # noqa: E402


def test_plot_history_and_curves_draw_lines():
    h = History(train_loss=[3, 2, 1], val_loss=[3.5, 2.5, 2.0], best_epoch=2)
    ax = plot.plot_history(h, title="t")
    assert len(ax.lines) == 3 and ax.get_title() == "t"
    ax = plot.plot_curves({"a": [1, 10, 100], "b": torch.tensor([1.0, 2.0, 3.0])}, xs=[1, 2, 3], logy=True)
    assert ax.get_yscale() == "log" and len(ax.lines) == 2
    plt.close("all")


def test_heatmap_and_scatter():
    ax = plot.heatmap(torch.rand(3, 4), row_labels=list("abc"), col_labels=list("wxyz"), annotate=True)
    assert len(ax.texts) == 12
    with pytest.raises(ValueError):
        plot.heatmap(np.zeros(3))
    ax = plot.scatter_2d(np.random.rand(5, 7), labels=list("abcde"))
    assert len(ax.texts) == 5
    with pytest.raises(ValueError):
        plot.scatter_2d(np.random.rand(5, 7), labels=list("ab"))
    plt.close("all")


def test_check_shape(capsys):
    checks.check_shape(torch.zeros(2, 3), (2, 3), "x")
    assert "✓ x has shape (2, 3)" in capsys.readouterr().out
    with pytest.raises(AssertionError, match=r"shape \(2, 3\), expected \(3, 2\)"):
        checks.check_shape(torch.zeros(2, 3), (3, 2), "x")


def test_check_close():
    checks.check_close(torch.tensor([1.0, 2.0]), [1.0, 2.0 + 1e-9])
    with pytest.raises(AssertionError, match="largest difference"):
        checks.check_close(1.0, 1.1, "p")
    with pytest.raises(AssertionError, match="NaN"):
        checks.check_close(float("nan"), 1.0)
    with pytest.raises(AssertionError, match="shape"):
        checks.check_close([1.0, 2.0], [1.0])


def test_check_distribution():
    checks.check_distribution(torch.softmax(torch.randn(4, 5), dim=-1))
    with pytest.raises(AssertionError, match="sum to 1"):
        checks.check_distribution(torch.full((2, 4), 0.3))
    with pytest.raises(AssertionError, match="outside"):
        checks.check_distribution(torch.tensor([1.5, -0.5]))


def test_check_gradients_flow():
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))
    checks.check_gradients_flow(model, model(torch.randn(5, 3)).sum())
    detached = model[1](model[0](torch.randn(5, 3)).detach()).sum()
    with pytest.raises(AssertionError, match="no gradient reached"):
        checks.check_gradients_flow(model, detached)


def test_check_raises():
    checks.check_raises(lambda: {}["k"], KeyError, "lookup")
    with pytest.raises(AssertionError, match="did not raise"):
        checks.check_raises(lambda: 1, KeyError)
    with pytest.raises(AssertionError, match="raised ValueError"):
        checks.check_raises(lambda: int("x"), KeyError)


def test_attention_sentences_writes_every_token_and_blanks_the_rest():
    tokens = [["the", "plot", "was", "good"], ["not", "bad"]]
    weights = [torch.tensor([0.1, 0.2, 0.3, 0.4]), np.array([0.7, 0.3, 0.0, 0.0])]   # padded row is cut
    ax = plot.attention_sentences(tokens, weights, row_labels=["a", "b"], title="t")
    assert [t.get_text() for t in ax.texts] == ["the", "plot", "was", "good", "not", "bad"]
    data = ax.images[0].get_array()
    assert data.shape == (2, 4) and bool(data.mask[1, 2]) and bool(data.mask[1, 3]) and not data.mask[0].any()
    assert ax.get_title() == "t"
    with pytest.raises(ValueError, match="only 1 weights"):
        plot.attention_sentences([["a", "b"]], [[1.0]])
    with pytest.raises(ValueError, match="as many weight rows"):
        plot.attention_sentences([["a"]], [])
    plt.close("all")
