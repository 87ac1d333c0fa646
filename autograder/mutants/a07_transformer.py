"""Typical wrong solutions of a07 (attention, multi-head attention, positional encodings), each an
edit of one reference solution cell.

``fails`` lists exactly the test cells that lose their points. The multi-head checks run the
student's module, which calls the student's attention, so a wrong attention also costs the
multi-head cells. Every wrong attention of this catalogue still learns the reverse task (seeds 0
and 1 of the visible and hidden checks): reversing needs only that information can move between
positions, which a softmax over the wrong axis, a missing scale or mixed-up heads still allow. The
value checks against ``F.scaled_dot_product_attention`` and ``nn.MultiheadAttention`` catch them;
the reverse task catches an attention that moves nothing (``tests/test_a07_checks.py``).
"""
from autograder.mutants import Mutant

_ATT = "attention"
_CAUSAL = "causal"
_MHA = "mha"
_PE = "positions"
_VALUES = "test_attention_matches_torch"
_MASK = "test_attention_mask"
_GRAD = "test_attention_gradcheck"
_MHA_SHAPES = "test_mha_shapes"
_MHA_TORCH = "test_mha_matches_torch"
_REVERSE = "test_reverse_task"

MUTANTS = [
    # ---------------------------------------------------------------- scaled_dot_product_attention
    Mutant(
        name="no_scaling",
        description="the scores q k^T are not scaled at all (no 1 / sqrt(d_k))",
        cell=_ATT,
        find="scores = q @ k.transpose(-2, -1) * scale",
        replace="scores = q @ k.transpose(-2, -1)",
        fails=(_VALUES, _MHA_TORCH),
    ),
    Mutant(
        name="scale_by_d_k",
        description="the scores are divided by d_k instead of sqrt(d_k)",
        cell=_ATT,
        find="scale = 1.0 / math.sqrt(d_k) if scale is None else scale",
        replace="scale = 1.0 / d_k if scale is None else scale",
        fails=(_VALUES,),
    ),
    Mutant(
        name="softmax_over_queries",
        description="the softmax runs over the queries (dim=-2) instead of the keys",
        cell=_ATT,
        find="weights = torch.softmax(scores, dim=-1)",
        replace="weights = torch.softmax(scores, dim=-2)",
        fails=(_VALUES, _MASK, _MHA_SHAPES, _MHA_TORCH),
    ),
    Mutant(
        name="mask_inverted",
        description="the mask is read the other way round: True blocks (nn.MultiheadAttention's convention)",
        cell=_ATT,
        find="scores = scores.masked_fill(~mask, float(\"-inf\"))",
        replace="scores = scores.masked_fill(mask, float(\"-inf\"))",
        fails=(_VALUES, _MASK, _MHA_TORCH),
    ),
    Mutant(
        name="mask_after_softmax",
        description="the masked weights are zeroed after the softmax, so rows no longer sum to 1",
        cell=_ATT,
        find="""    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))        # masked keys: weight exactly 0
    weights = torch.softmax(scores, dim=-1)                      # over the keys""",
        replace="""    weights = torch.softmax(scores, dim=-1)
    if mask is not None:
        weights = weights.masked_fill(~mask, 0.0)""",
        fails=(_VALUES, _MASK, _MHA_TORCH),
    ),
    Mutant(
        name="mask_fills_zero",
        description="masked scores are set to 0 instead of -inf, so masked keys keep some weight",
        cell=_ATT,
        find="scores = scores.masked_fill(~mask, float(\"-inf\"))",
        replace="scores = scores.masked_fill(~mask, 0.0)",
        fails=(_VALUES, _MASK, _MHA_TORCH),
    ),
    Mutant(
        name="scales_query_in_place",
        description="q is scaled in place (q.mul_), which changes the caller's tensor",
        cell=_ATT,
        find="scores = q @ k.transpose(-2, -1) * scale",
        replace="scores = q.mul_(scale) @ k.transpose(-2, -1)",
        fails=(_VALUES, _MASK, _GRAD),
    ),
    # ---------------------------------------------------------------- causal_mask
    Mutant(
        name="causal_diagonal_blocked",
        description="the causal mask is off by one: a position may not attend to itself (tril(-1))",
        cell=_CAUSAL,
        find="return torch.ones(T, T, dtype=torch.bool, device=device).tril()",
        replace="return torch.ones(T, T, dtype=torch.bool, device=device).tril(-1)",
        fails=("test_causal_mask",),
    ),
    Mutant(
        name="causal_upper_triangle",
        description="the causal mask is the upper triangle: every position sees the future",
        cell=_CAUSAL,
        find="return torch.ones(T, T, dtype=torch.bool, device=device).tril()",
        replace="return torch.ones(T, T, dtype=torch.bool, device=device).triu()",
        fails=("test_causal_mask",),
    ),
    Mutant(
        name="causal_ignores_device",
        description="the causal mask is always built on the default device (the `device` argument is ignored)",
        cell=_CAUSAL,
        find="return torch.ones(T, T, dtype=torch.bool, device=device).tril()",
        replace="return torch.ones(T, T, dtype=torch.bool).tril()",
        fails=("test_causal_mask",),
    ),
    # ---------------------------------------------------------------- MultiHeadAttention
    Mutant(
        name="scale_by_d_model",
        description="the scores are scaled by 1 / sqrt(d_model) instead of 1 / sqrt(d_k) of one head",
        cell=_MHA,
        find="scale=1.0 / math.sqrt(self.d_k)",
        replace="scale=1.0 / math.sqrt(self.d_model)",
        fails=(_MHA_TORCH,),
    ),
    Mutant(
        name="heads_split_mixes_positions",
        description="the heads are split with .view(B, h, T, d_k), which mixes positions and heads",
        cell=_MHA,
        find="q = self.q_proj(x).view(B, T, self.num_heads, self.d_k).transpose(1, 2)",
        replace="q = self.q_proj(x).view(B, self.num_heads, T, self.d_k)",
        fails=(_MHA_TORCH,),
    ),
    Mutant(
        name="heads_split_values_mix_positions",
        description="the values are split with .reshape(B * h, T, d_k).view(B, h, T, d_k): within each batch row "
                    "this is .view(B, h, T, d_k), which mixes positions and heads (batch rows stay apart)",
        cell=_MHA,
        find="v = self.v_proj(x).view(B, T, self.num_heads, self.d_k).transpose(1, 2)",
        replace="v = self.v_proj(x).reshape(B * self.num_heads, T, self.d_k).view(B, self.num_heads, T, self.d_k)",
        fails=(_MHA_TORCH,),
    ),
    Mutant(
        name="heads_split_mixes_batch",
        description="the heads are moved in front of the batch, .permute(2, 0, 1, 3), and reshaped to (B, h, T, d_k) "
                    "without moving them back: queries of one sequence attend to keys of another",
        cell=_MHA,
        find="q = self.q_proj(x).view(B, T, self.num_heads, self.d_k).transpose(1, 2)",
        replace="q = self.q_proj(x).view(B, T, self.num_heads, self.d_k).permute(2, 0, 1, 3).reshape(B, self.num_heads, T, self.d_k)",
        fails=(_MHA_TORCH,),
    ),
    Mutant(
        name="heads_merged_without_transpose",
        description="the heads are merged with .reshape(B, T, d_model) without moving them back next to d_k",
        cell=_MHA,
        find="out = out.transpose(1, 2).reshape(B, T, self.d_model)",
        replace="out = out.reshape(B, T, self.d_model)",
        fails=(_MHA_TORCH,),
    ),
    Mutant(
        name="output_projection_missing",
        description="the output projection out_proj is never applied",
        cell=_MHA,
        find="return self.out_proj(out), weights",
        replace="return out, weights",
        fails=(_MHA_TORCH,),
    ),
    Mutant(
        name="keys_tied_to_queries",
        description="the keys are computed with q_proj: key and query projections tied",
        cell=_MHA,
        find="k = self.k_proj(x).view(B, T, self.num_heads, self.d_k).transpose(1, 2)",
        replace="k = self.q_proj(x).view(B, T, self.num_heads, self.d_k).transpose(1, 2)",
        fails=(_MHA_TORCH,),
    ),
    Mutant(
        name="mask_not_passed",
        description="forward ignores its mask argument",
        cell=_MHA,
        find="scaled_dot_product_attention(q, k, v, mask, scale=",
        replace="scaled_dot_product_attention(q, k, v, None, scale=",
        fails=(_MHA_TORCH,),
    ),
    # ---------------------------------------------------------------- sinusoidal_positions
    Mutant(
        name="sin_cos_swapped",
        description="cosines on the even features and sines on the odd ones",
        cell=_PE,
        find="""    pe[:, 0::2] = torch.sin(angle)
    pe[:, 1::2] = torch.cos(angle)""",
        replace="""    pe[:, 0::2] = torch.cos(angle)
    pe[:, 1::2] = torch.sin(angle)""",
        fails=("test_positions",),
    ),
    Mutant(
        name="frequency_exponent_i",
        description="the exponent uses i / d_model instead of 2i / d_model (frequencies too close together)",
        cell=_PE,
        find="two_i = torch.arange(0, d_model, 2, dtype=torch.float32)                        # 0, 2, 4, ...",
        replace="two_i = torch.arange(d_model // 2, dtype=torch.float32)",
        fails=("test_positions",),
    ),
    Mutant(
        name="frequency_not_inverted",
        description="p * 10000^(2i/d) instead of p / 10000^(2i/d)",
        cell=_PE,
        find="angle = position / 10000.0 ** (two_i / d_model)",
        replace="angle = position * 10000.0 ** (two_i / d_model)",
        fails=("test_positions",),
    ),
]
