"""Typical wrong solutions of a06 (attention pooling, the attention classifier, a decoder step),
each an edit of one reference solution cell.

``fails`` lists exactly the test cells that lose their points. The checks are independent (see
``autograder/a06_attention.py``): the classifier checks run with the reference pooling, so a wrong
``attention_pool`` costs only the pooling cells.

One mistake the assignment's issue lists is *not* here because it is not a mistake: dropping the
bias ``b`` of the score ``e_i = w . h_i + b`` leaves the weights unchanged (softmax is invariant to
adding one number to every score; the chapter demonstrates it). The bias that does matter in the
decoder step, that of the ``combine`` layer, is catalogued instead (``combine_bias_dropped``).
"""
from autograder.mutants import Mutant

_POOL = "attention_pool"
_CLASSIFIER = "attention_classifier"
_STEP = "decoder_step"
_POOL_SHAPES, _POOL_MASK, _POOL_VALUES = "test_attention_pool_shapes", "test_attention_pool_masking", "test_attention_pool_values"
_OUTPUTS, _GRADIENTS, _ACCURACY = "test_classifier_outputs", "test_classifier_gradients", "test_classifier_accuracy"
_STEP_VALUES, _STEP_MASK = "test_decoder_step_matches_torch", "test_decoder_step_mask"
_ALL_POOL = (_POOL_SHAPES, _POOL_MASK, _POOL_VALUES)

MUTANTS = [
    # ---------------------------------------------------------------- attention_pool
    Mutant(
        name="softmax_over_batch",
        description="the softmax runs over the batch axis (dim 0) instead of the positions",
        cell=_POOL,
        find="weights = torch.softmax(scores, dim=1)",
        replace="weights = torch.softmax(scores, dim=0)",
        fails=(_POOL_MASK, _POOL_VALUES),
    ),
    Mutant(
        name="softmax_over_hidden",
        description="the scores keep their trailing axis of size 1 and the softmax runs over it, so every "
                    "weight is 1 (or NaN at padding)",
        cell=_POOL,
        find="scores = score(states).squeeze(-1)                          # (B, T): e_t = w . h_t + b\n"
             "    scores = scores.masked_fill(~mask, float(\"-inf\"))           # padding: exp(-inf) = 0\n"
             "    weights = torch.softmax(scores, dim=1)                      # (B, T), over the time axis",
        replace="scores = score(states)                                      # (B, T, 1)\n"
                "    scores = scores.masked_fill(~mask.unsqueeze(-1), float(\"-inf\"))\n"
                "    weights = torch.softmax(scores, dim=-1).squeeze(-1)          # (B, T)",
        fails=(_POOL_MASK, _POOL_VALUES),
    ),
    Mutant(
        name="mask_after_softmax",
        description="the padding is zeroed after the softmax, without renormalising",
        cell=_POOL,
        find="scores = scores.masked_fill(~mask, float(\"-inf\"))           # padding: exp(-inf) = 0\n"
             "    weights = torch.softmax(scores, dim=1)                      # (B, T), over the time axis",
        replace="weights = torch.softmax(scores, dim=1) * mask             # zero the padding afterwards",
        fails=(_POOL_MASK, _POOL_VALUES),
    ),
    Mutant(
        name="mask_value_zero",
        description="padded positions get the score 0 instead of -inf, so they still get weight",
        cell=_POOL,
        find="scores = scores.masked_fill(~mask, float(\"-inf\"))",
        replace="scores = scores.masked_fill(~mask, 0.0)",
        fails=(_POOL_MASK, _POOL_VALUES),
    ),
    Mutant(
        name="no_mask",
        description="the mask is ignored: padding takes part in the softmax",
        cell=_POOL,
        find="    scores = scores.masked_fill(~mask, float(\"-inf\"))           # padding: exp(-inf) = 0\n",
        replace="",
        fails=(_POOL_MASK, _POOL_VALUES),
    ),
    Mutant(
        name="context_summed_over_hidden",
        description="the weighted states are summed over the hidden axis instead of the positions",
        cell=_POOL,
        find="context = (weights.unsqueeze(-1) * states).sum(dim=1)",
        replace="context = (weights.unsqueeze(-1) * states).sum(dim=-1)",
        fails=_ALL_POOL,
    ),
    Mutant(
        name="pool_weights_before_masking",
        description="the context uses the masked weights, but the weights returned are the softmax before masking",
        cell=_POOL,
        find="    return context, weights",
        replace="    return context, torch.softmax(score(states).squeeze(-1), dim=1)",
        fails=(_POOL_MASK, _POOL_VALUES),
    ),
    Mutant(
        name="context_mean_not_weighted",
        description="the context is the plain mean of the real states (the weights are computed but unused)",
        cell=_POOL,
        find="context = (weights.unsqueeze(-1) * states).sum(dim=1)",
        replace="context = (states * mask.unsqueeze(-1)).sum(dim=1) / mask.sum(dim=1, keepdim=True)",
        fails=(_POOL_VALUES,),
    ),
    # ---------------------------------------------------------------- AttentionClassifier
    Mutant(
        name="weights_not_returned",
        description="forward_with_weights returns the context instead of the attention weights",
        cell=_CLASSIFIER,
        find="        return logits, weights",
        replace="        return logits, context",
        fails=(_OUTPUTS,),
    ),
    Mutant(
        name="padding_states_used",
        description="the BiLSTM runs over the padded batch without packing, so the backward direction starts on "
                    "the padding and the real tokens' states depend on it",
        cell=_CLASSIFIER,
        find="packed = pack_padded_sequence(self.embed(x), lengths.cpu(), batch_first=True, enforce_sorted=False)\n"
             "        states, _ = self.lstm(packed)\n"
             "        states, _ = pad_packed_sequence(states, batch_first=True, total_length=x.shape[1])",
        replace="states, _ = self.lstm(self.embed(x))",
        fails=(_OUTPUTS,),
    ),
    Mutant(
        name="mask_off_by_one",
        description="the mask counts one position too many (t <= length), so the first pad gets weight",
        cell=_CLASSIFIER,
        find="mask = torch.arange(x.shape[1], device=x.device)[None, :] < lengths[:, None]",
        replace="mask = torch.arange(x.shape[1], device=x.device)[None, :] <= lengths[:, None]",
        fails=(_OUTPUTS,),
    ),
    Mutant(
        name="no_dropout",
        description="the dropout layer is not applied to the context",
        cell=_CLASSIFIER,
        find="logits = self.head(self.dropout(context))",
        replace="logits = self.head(context)",
        fails=(_OUTPUTS,),
    ),
    Mutant(
        name="dropout_in_eval",
        description="F.dropout(..., training=True): dropout stays on after model.eval()",
        cell=_CLASSIFIER,
        find="logits = self.head(self.dropout(context))",
        replace="logits = self.head(F.dropout(context, p=0.5, training=True))",
        fails=(_OUTPUTS,),
    ),
    Mutant(
        name="dropout_on_states",
        description="dropout is applied to the BiLSTM states before pooling instead of to the context",
        cell=_CLASSIFIER,
        find="context, weights = self.pool(states, mask, self.score)                                # (B, 2H), (B, T)\n"
             "        logits = self.head(self.dropout(context))",
        replace="context, weights = self.pool(self.dropout(states), mask, self.score)\n"
                "        logits = self.head(context)",
        fails=(_OUTPUTS,),
    ),
    Mutant(
        name="dropout_on_logits",
        description="dropout is applied to the logits instead of to the context",
        cell=_CLASSIFIER,
        find="logits = self.head(self.dropout(context))",
        replace="logits = self.dropout(self.head(context))",
        fails=(_OUTPUTS,),
    ),
    Mutant(
        name="dropout_on_embeddings",
        description="dropout is applied to the embeddings instead of to the context (p = 0.5 on the inputs also "
                    "costs the accuracy)",
        cell=_CLASSIFIER,
        find="packed = pack_padded_sequence(self.embed(x), lengths.cpu(), batch_first=True, enforce_sorted=False)\n"
             "        states, _ = self.lstm(packed)\n"
             "        states, _ = pad_packed_sequence(states, batch_first=True, total_length=x.shape[1])   # (B, T, 2H)\n"
             "        mask = torch.arange(x.shape[1], device=x.device)[None, :] < lengths[:, None]          # (B, T)\n"
             "        context, weights = self.pool(states, mask, self.score)                                # (B, 2H), (B, T)\n"
             "        logits = self.head(self.dropout(context))",
        replace="packed = pack_padded_sequence(self.dropout(self.embed(x)), lengths.cpu(), batch_first=True, "
                "enforce_sorted=False)\n"
                "        states, _ = self.lstm(packed)\n"
                "        states, _ = pad_packed_sequence(states, batch_first=True, total_length=x.shape[1])\n"
                "        mask = torch.arange(x.shape[1], device=x.device)[None, :] < lengths[:, None]\n"
                "        context, weights = self.pool(states, mask, self.score)\n"
                "        logits = self.head(context)",
        fails=(_OUTPUTS, _ACCURACY),
    ),
    Mutant(
        name="context_detached",
        description="the context is detached before the last layer, so nothing before it learns",
        cell=_CLASSIFIER,
        find="logits = self.head(self.dropout(context))",
        replace="logits = self.head(self.dropout(context.detach()))",
        fails=(_GRADIENTS, _ACCURACY),
    ),
    Mutant(
        name="last_state_not_pooled",
        description="the classifier reads the last padded position's state instead of the pooled context",
        cell=_CLASSIFIER,
        find="logits = self.head(self.dropout(context))",
        replace="logits = self.head(self.dropout(states[:, -1]))",
        fails=(_OUTPUTS, _GRADIENTS, _ACCURACY),
    ),
    # ---------------------------------------------------------------- attention_decoder_step
    Mutant(
        name="scores_not_scaled",
        description="the scores are not divided by sqrt(H) as the specification says",
        cell=_STEP,
        find="    scores = scores / math.sqrt(h.shape[-1])                                # scaled by sqrt(H)\n",
        replace="",
        fails=(_STEP_VALUES,),
    ),
    Mutant(
        name="previous_state_query",
        description="the scores use the previous state h_prev, so the context is the one the previous step "
                    "should have used, not the current one",
        cell=_STEP,
        find="scores = torch.bmm(enc_outputs, h.unsqueeze(2)).squeeze(2)",
        replace="scores = torch.bmm(enc_outputs, h_prev.unsqueeze(2)).squeeze(2)",
        fails=(_STEP_VALUES,),
    ),
    Mutant(
        name="source_padding_used",
        description="the source mask is not applied: padded encoder outputs take part in the attention",
        cell=_STEP,
        find="    scores = scores.masked_fill(~src_mask, float(\"-inf\"))                   # padding gets weight 0\n",
        replace="",
        fails=(_STEP_VALUES, _STEP_MASK),
    ),
    Mutant(
        name="wrong_operand_transposed",
        description="the context multiplies the weights with the transposed encoder outputs (B, H, S)",
        cell=_STEP,
        find="context = torch.bmm(weights.unsqueeze(1), enc_outputs).squeeze(1)",
        replace="context = torch.bmm(weights.unsqueeze(1), enc_outputs.transpose(1, 2)).squeeze(1)",
        fails=(_STEP_VALUES, _STEP_MASK),
    ),
    Mutant(
        name="step_softmax_over_batch",
        description="the decoder's softmax runs over the batch axis instead of the source positions",
        cell=_STEP,
        find="weights = torch.softmax(scores, dim=-1)",
        replace="weights = torch.softmax(scores, dim=0)",
        fails=(_STEP_VALUES, _STEP_MASK),
    ),
    Mutant(
        name="concat_order_swapped",
        description="the combined output uses [h; context] instead of [context; h]",
        cell=_STEP,
        find="torch.cat([context, h], dim=-1)",
        replace="torch.cat([h, context], dim=-1)",
        fails=(_STEP_VALUES,),
    ),
    Mutant(
        name="combine_bias_dropped",
        description="the combine layer's bias b_c is left out: tanh(W_c [c; h])",
        cell=_STEP,
        find="output = torch.tanh(combine(torch.cat([context, h], dim=-1)))",
        replace="output = torch.tanh(torch.cat([context, h], dim=-1) @ combine.weight.T)",
        fails=(_STEP_VALUES,),
    ),
]
