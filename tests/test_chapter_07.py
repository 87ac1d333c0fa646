"""Chapter 7 (a Transformer preview): the executed notebook prints what the text claims.

Bounds, not exact values: scaling keeps the score variance near 1 and the softmax unsaturated;
our attention and multi-head attention agree with PyTorch's to rounding; a causal mask leaves
earlier outputs exactly unchanged; self-attention without positions is permutation-equivariant;
on the reviews the bag fails negations, the Transformer without positions fails contrasts and
the LSTM and the positional Transformer solve both; Kneser-Ney wins both language-model tables
at the chapter's budget, its order chosen on validation, and every model scores the same test
tokens; the timing table is complete, and its growth exponents show what the prose says (the
attention's near 2 and above the LSTM's at long lengths); the figures are there.
"""
from __future__ import annotations

import re

import pytest

from conftest import count_images, number, stdout_text

pytestmark = pytest.mark.slow

NUMBER = r"[-+]?\d[\d,]*(?:\.\d+)?(?:e[-+]?\d+)?"


@pytest.fixture(scope="module")
def nb(executed_chapter):
    return executed_chapter("07_transformer")


@pytest.fixture(scope="module")
def out(nb) -> str:
    return stdout_text(nb)


def row(text: str, label: str) -> list[float]:
    """The numbers on the first printed line that starts with ``label`` (label excluded)."""
    match = re.search(rf"^\s*{re.escape(label)}(.*)$", text, flags=re.M)
    assert match, f"no printed line starts with {label!r}"
    return [float(v.replace(",", "")) for v in re.findall(NUMBER, match.group(1))]


def after(text: str, marker: str) -> str:
    assert marker in text, f"{marker!r} not printed"
    return text[text.index(marker):]


def test_scaling_table(out):
    """Columns: d_k, var(q.k), var scaled, max weight unscaled / gradient size, max weight scaled / gradient size."""
    table = after(out, "var(q.k)")
    rows = {d_k: row(table, f"{d_k:5d} ") for d_k in (4, 16, 64, 256, 1024)}
    for d_k, (var, var_scaled, m_raw, g_raw, m_sc, g_sc) in rows.items():
        assert 0.85 * d_k < var < 1.15 * d_k, (d_k, var)
        assert 0.9 < var_scaled < 1.1, (d_k, var_scaled)
        assert m_sc < 0.3 and g_sc > 0.25, (d_k, m_sc, g_sc)
    assert rows[256][2] > 0.85 and rows[256][3] < 0.5 * rows[256][5], rows[256]


def test_attention_matches_pytorch(out):
    assert number(r"no mask:\s+max \|ours - F.scaled_dot_product_attention\| = (\S+)", out) < 1e-5
    assert number(r"with mask: max \|ours - F.scaled_dot_product_attention\| = (\S+)", out) < 1e-5
    assert "weights sum to 1 per query: True  masked weights are 0: True" in out
    for name in ("no mask ", "causal  "):
        outputs, weights = row(out, f"{name}: max |ours - nn.MultiheadAttention| outputs")[0], \
            row(out, f"{name}: max |ours - nn.MultiheadAttention| outputs")[1]
        assert outputs < 1e-5 and weights < 1e-5, name
    assert row(out, "parameters: ours") == [4224, 4224, 32, 4224]


def test_causal_mask_blocks_the_future(out):
    causal = row(out, "causal mask: largest change of each position's output:")
    free = row(out, "no mask    : largest change of each position's output:")
    assert len(causal) == len(free) == 8
    assert causal[:5] == [0.0] * 5 and min(causal[5:]) > 0, causal
    assert sum(v > 0 for v in free[:5]) >= 3, free


def test_permutation_and_positions(out):
    assert number(r"max \|attn\(x\[perm\]\) - attn\(x\)\[perm\]\| = (\S+)", out) < 1e-5
    assert number(r"max \|mean over positions, permuted - original\| = (\S+)", out) < 1e-5
    assert number(r"with positions: max \|mean over positions, permuted - original\| = (\S+)", out) > 0.01
    assert "PE[1, :4] = [0.8415, 0.5403, 0.5332, 0.846]" in out


def test_learned_and_sinusoidal_positions(out):
    sinusoidal = re.search(r"^sinusoidal: output \(2, 10, 32\), pe \(256, 32\) fixed, ([\d,]+) parameters", out, re.M)
    learned = re.search(r"^learned   : output \(2, 10, 32\), pe \(256, 32\) trainable, ([\d,]+) parameters", out, re.M)
    assert sinusoidal and learned, "the encoder with both kinds of positions"
    as_int = lambda m: int(m.group(1).replace(",", ""))   # noqa: E731
    assert as_int(learned) - as_int(sinusoidal) == 256 * 32


def review_row(table: str, kind: str) -> tuple[int, list[float], list[float]]:
    """(seeds, means, spreads) of the printed row ``kind``: four columns, each "m ± s" or "m (1 seed)"."""
    match = re.search(rf"^{re.escape(kind)}\s+(\d+)\s+(.*)$", table, flags=re.M)
    assert match, f"no row {kind!r}"
    cells = re.findall(r"(\d\.\d{3})(?: ± (\d\.\d{3})| \(1 seed\))", match.group(2))
    assert len(cells) == 4, (kind, match.group(2))
    return int(match.group(1)), [float(m) for m, _ in cells], [float(sd) if sd else 0.0 for _, sd in cells]


def test_review_table(out):
    """Mean (± spread where two seeds) of all / plain / negated / contrast test accuracy."""
    table = after(out, "test accuracy ")
    rows = {kind: review_row(table, kind) for kind in ("bag", "lstm", "transformer, no positions", "transformer")}
    assert [rows[k][0] for k in rows] == [2, 2, 1, 2], rows
    bag, lstm, nopos, trans = (rows[k][1] for k in ("bag", "lstm", "transformer, no positions", "transformer"))
    assert bag[2] < 0.5 and bag[0] < 0.7, bag                       # the baseline fails negations
    assert lstm[0] > 0.95 and lstm[2] > 0.9 and lstm[3] > 0.9, lstm
    assert nopos[3] < 0.6 and nopos[2] > 0.85 and nopos[1] > 0.95, nopos   # order-blind: contrasts at chance
    assert trans[0] > 0.95 and trans[3] > 0.9, trans                # positions fix the contrasts
    assert lstm[0] - trans[0] < 0.05, (lstm, trans)                 # "slightly behind", not far behind
    assert all(0 <= sd < 0.2 for sd in rows["lstm"][2]), rows["lstm"]
    assert "label 1, predicted P(positive) =" in out or "label 0, predicted P(positive) =" in out
    assert len(re.findall(r"head \d: '", after(out, "most-attended key per head:").splitlines()[0])) == 4
    curves = after(out, "validation accuracy after each epoch, seed 0:")
    for kind, epochs in (("bag", 10), ("lstm", 10), ("transformer, no positions", 8)):
        curve = row(curves, kind + " ")
        assert len(curve) == epochs, kind
        assert curve[0] < 0.65, (kind, curve)                         # every model starts near chance
        assert (max(curve) < 0.65) == (kind == "bag"), (kind, curve)  # only the bag stays there


def test_word_level_table(out):
    kn_valid = row(out, "validation perplexity by order: 1:")
    assert len(kn_valid) == 9                                         # "1: p  2: p ..." -> orders and values
    order = int(number(r"chosen order (\d)", out))
    valid_by_order = dict(zip([1] + kn_valid[1::2], kn_valid[0::2]))
    assert order == min(valid_by_order, key=valid_by_order.get), "the order must be chosen on validation"
    table = after(out, "words (")
    n_test = number(r"words \((\d+) test tokens\)", out)
    assert n_test == number(r"and test (\d+) predictions", out) == number(r"over (\d+) predictions", out)
    kn = row(table, f"Kneser-Ney {order}-gram")
    assert kn[1:] == [0.0] or kn[0] == 0, kn
    rows = {name: row(table, name) for name in ("fixed window (3 words)", "RNN", "LSTM", "Transformer")}
    kn_test = kn[-1]
    assert 70 < kn_test < 110, kn
    assert order == 3, order                                           # the prose says "chose order 3"
    for name, (params, seconds, valid_ppl, test_ppl) in rows.items():
        assert 1e5 < params < 1e6 and seconds > 0, (name, params)
        assert kn_test < test_ppl < 400, (name, test_ppl)               # Kneser-Ney wins at this budget
        assert valid_ppl > kn[-2], name
    assert number(r"(\d+\.\d) words per training sentence on average", out) < 30


def test_character_level_table(out):
    table = after(out, "characters (")
    n_test = number(r"characters \((\d+) test\)", out)
    assert 30_000 < n_test < 40_000
    kn_line = re.search(r"^Kneser-Ney (\d)-gram(.*)$", table, flags=re.M)
    assert kn_line, table
    kn_test = float(re.findall(NUMBER, kn_line.group(2))[-1])
    assert 3.0 < kn_test < 4.5, kn_test
    by_order = re.search(r"^validation perplexity by order: 3:(.*)$", out, flags=re.M)
    assert by_order, "the character orders' validation perplexities"
    values = [float(v) for v in re.findall(r"\d+: (\d+\.\d+)", "3:" + by_order.group(1))]
    assert len(values) == 5 and int(kn_line.group(1)) == 3 + values.index(min(values)), values
    assert values[-1] == min(values) and values[-1] > values[-2] - 0.2, values   # edge of the grid, flattening
    params, test_ppl = {}, {}
    for name in ("LSTM", "Transformer"):
        params[name], seconds, valid_ppl, test_ppl[name] = row(table, name)
        assert 1e4 < params[name] < 5e5 and kn_test < test_ppl[name] < 40, (name, test_ppl)
    assert 0.8 < params["LSTM"] / params["Transformer"] < 1.25, params   # "about as many parameters"


def test_parallelism_table(out):
    """Timings are measurements: only presence, shape and the exact columns (steps, memory) are checked."""
    table = after(out, "steps LSTM")
    assert "attn weights MiB" in table
    for T, mib in ((16, 0.03), (64, 0.5), (256, 8.0), (1024, 128.0)):
        values = row(table, f"{T:5d} ")
        assert len(values) == 5, values
        assert values[0] == T and values[1] == 1 and values[4] == mib, values
        assert values[2] > 0 and values[3] > 0
    faster = re.search(r"^attention faster than the LSTM at T = (.*)$", table, flags=re.M)
    assert faster, "the lengths at which attention was faster"
    assert "1024" not in faster.group(1), faster.group(0)              # the T^2 term wins at long lengths
    exponents = {name: [float(v) for v in re.findall(r"->\d+: ([-\d.]+)", after(table, f"growth exponent, {name}").splitlines()[0])]
                 for name in ("LSTM", "self-attention")}
    assert all(len(e) == 3 for e in exponents.values()), exponents
    assert exponents["self-attention"][-1] > 1.5, exponents            # the T^2 term at long lengths
    assert exponents["self-attention"][-1] > exponents["LSTM"][-1] + 0.2, exponents   # "above the LSTM's"
    assert re.search(r"^measured on: ", table, flags=re.M)


def test_figures(nb):
    """Positional encodings, attention maps, the LM bar chart, the timing plot."""
    assert count_images(nb) >= 4


def test_frame(nb):
    """Self-check answers in a dropdown, a Korean summary, a link to the exercise."""
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "```{admonition} Answers\n:class: dropdown" in text
    assert "## 요약 (Korean summary)" in text
    assert "../exercises/a07_transformer/a07_transformer.ipynb" in text
