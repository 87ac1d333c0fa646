"""Typical wrong solutions of a04 (an LSTM cell and a classifier), each an edit of one reference
solution cell.

``fails`` lists exactly the test cells that lose their points. The checks are independent (see
``autograder/a04_lstm.py``): the padded-batch and classifier checks run with PyTorch's own LSTM
step, so a wrong cell costs only the cell's value check and, if it can no longer learn to carry
a token over 50 steps, the memory task. Which wrong cells still learn the memory task was
measured over 10 seeds each (``tests/test_a04_checks.py`` proves it for the seeds used):

- still learn (10/10 seeds): a tanh forget gate (f in (-1, 1), still about 1 with bias 5),
  h = o * c, h from c_{t-1};
- never learn (0/10): forget and input gates swapped (either by reading the blocks in the order
  f, i, g, o or by swapping their roles in the update: the forget-gate bias then opens the input
  gate), no candidate (c = f * c_prev + i), a sigmoid candidate (at most 0.90 on one seed of 10).

The second group (issue 10) are mistakes that the value and learning checks alone let through;
the property checks catch them: inputs modified in place, a hand-written sigmoid or tanh that
overflows on large values, an empty row read from the wrong step, probabilities returned as logits,
and a classifier that reads c_n instead of h_n, which still passes the accuracy bar. (A classifier
that averages the real outputs is caught by the same property check; it sits at the accuracy bar,
84.8% for seed 1, so it is tested directly in tests/test_a04_checks.py rather than catalogued with
a fragile accuracy verdict.)
"""
from autograder.mutants import Mutant

_CELL = "lstm_cell"
_LAYER = "lstm_layer"
_CLASSIFIER = "lstm_classifier"
_VALUES = "test_lstm_cell_matches_torch"
_MEMORY = "test_memory_task"

MUTANTS = [
    # ---------------------------------------------------------------- lstm_cell
    Mutant(
        name="gates_wrong_order",
        description="reads the gate blocks in the order of the equations (f, i, g, o), not PyTorch's i, f, g, o",
        cell=_CELL,
        find="i, f, g, o = gates.chunk(4, dim=1)",
        replace="f, i, g, o = gates.chunk(4, dim=1)",
        fails=(_VALUES, _MEMORY),
    ),
    Mutant(
        name="gate_tanh",
        description="a tanh instead of a sigmoid on the forget gate",
        cell=_CELL,
        find="f = torch.sigmoid(f)",
        replace="f = torch.tanh(f)",
        fails=(_VALUES,),
    ),
    Mutant(
        name="candidate_sigmoid",
        description="a sigmoid instead of a tanh on the candidate g, so the cell can only add positive values",
        cell=_CELL,
        find="g = torch.tanh(g)",
        replace="g = torch.sigmoid(g)",
        fails=(_VALUES, _MEMORY),
    ),
    Mutant(
        name="candidate_missing",
        description="c_t = f * c_{t-1} + i: the candidate g is left out of the cell update",
        cell=_CELL,
        find="c = f * c_prev + i * g",
        replace="c = f * c_prev + i",
        fails=(_VALUES, _MEMORY),
    ),
    Mutant(
        name="tanh_missing",
        description="h_t = o * c_t: no tanh on the cell state",
        cell=_CELL,
        find="h = o * torch.tanh(c)",
        replace="h = o * c",
        fails=(_VALUES,),
    ),
    Mutant(
        name="h_from_previous_c",
        description="h_t computed from the previous cell state c_{t-1} instead of the new c_t",
        cell=_CELL,
        find="h = o * torch.tanh(c)",
        replace="h = o * torch.tanh(c_prev)",
        # also the gradient check: a row of length 1 gets h_n = o * tanh(c_0) = 0, with no gradient to x_1
        fails=(_VALUES, "test_gradient_reaches_first_step"),
    ),
    Mutant(
        name="forget_on_candidate",
        description="the forget gate applied to the candidate and the input gate to the old cell state",
        cell=_CELL,
        find="c = f * c_prev + i * g",
        replace="c = i * c_prev + f * g",
        fails=(_VALUES, _MEMORY),
    ),
    # ---------------------------------------------------------------- lstm_layer
    Mutant(
        name="state_not_frozen",
        description="the state keeps changing on padded steps, so h_n is the state after the padding",
        cell=_LAYER,
        find="h = torch.where(real, h_new, h)",
        replace="h = h_new",
        # also the gradient check: inputs at padded positions reach h_n
        fails=("test_lstm_layer_lengths", "test_classifier_final_real_step", "test_gradient_reaches_first_step"),
    ),
    Mutant(
        name="padded_outputs_not_zero",
        description="outputs at padded steps are the (unused) new states instead of 0",
        cell=_LAYER,
        find="outputs.append(h_new * real)",
        replace="outputs.append(h_new)",
        fails=("test_lstm_layer_lengths",),
    ),
    Mutant(
        name="state_detached",
        description="the state is detached before every step, so no gradient flows back through time",
        cell=_LAYER,
        find="h_new, c_new = cell(x[:, t], h, c, *weights)",
        replace="h_new, c_new = cell(x[:, t], h.detach(), c.detach(), *weights)",
        fails=("test_gradient_reaches_first_step", "test_classifier_accuracy"),
    ),
    # ---------------------------------------------------------------- LSTMClassifier
    Mutant(
        name="last_padded_step",
        description="the classifier reads outputs[:, -1], the last padded position, instead of h_n",
        cell=_CLASSIFIER,
        find="logits = self.head(h_n)",
        replace="logits = self.head(outputs[:, -1])",
        fails=("test_classifier_final_real_step", "test_classifier_accuracy"),
    ),
    # ---------------------------------------------------------------- properties (issue 10)
    Mutant(
        name="sigmoid_by_hand",
        description="the input gate's sigmoid written as 1 / (1 + exp(-x)): right values, but NaN gradients "
                    "once exp overflows for large negative pre-activations",
        cell=_CELL,
        find="i = torch.sigmoid(i)",
        replace="i = 1 / (1 + torch.exp(-i))",
        fails=("test_lstm_cell_gradcheck",),
    ),
    Mutant(
        name="tanh_by_hand",
        description="tanh(c) written as (exp(2c) - 1) / (exp(2c) + 1): NaN once the cell state exceeds about 44",
        cell=_CELL,
        find="h = o * torch.tanh(c)",
        replace="h = o * (torch.exp(2 * c) - 1) / (torch.exp(2 * c) + 1)",
        fails=(_VALUES,),
    ),
    Mutant(
        name="c_prev_updated_in_place",
        description="the cell update done in place on the caller's c_prev (c_prev.mul_(f).add_(i * g))",
        cell=_CELL,
        find="c = f * c_prev + i * g",
        replace="c = c_prev.mul_(f).add_(i * g)",
        fails=(_VALUES, "test_lstm_cell_gradcheck"),
    ),
    Mutant(
        name="lengths_counted_down_in_place",
        description="the loop counts the caller's lengths tensor down in place (lengths -= 1) to build the mask",
        cell=_LAYER,
        find="real = (t < lengths).unsqueeze(1)                    # (B, 1): rows still inside their sequence",
        replace="real = (lengths > 0).unsqueeze(1)\n        lengths -= 1",
        fails=("test_lstm_layer_lengths", "test_classifier_final_real_step"),
    ),
    Mutant(
        name="last_step_by_index",
        description="runs every row to the end and takes h_n at index lengths - 1: an empty row (length 0) gets "
                    "the state after the last padded step",
        cell=_LAYER,
        find="""        h = torch.where(real, h_new, h)                      # a finished row keeps its last real state
        c = torch.where(real, c_new, c)
        outputs.append(h_new * real)                         # (B, H), 0 at padded steps
    return torch.stack(outputs, dim=1), (h, c)               # (B, T, H), ((B, H), (B, H))""",
        replace="""        h, c = h_new, c_new
        outputs.append(torch.stack([h, c]))                  # (2, B, H)
    states = torch.stack(outputs, dim=2)                     # (2, B, T, H)
    rows = torch.arange(B, device=x.device)
    mask = (torch.arange(T, device=x.device)[None, :] < lengths[:, None]).unsqueeze(-1)
    return states[0] * mask, (states[0][rows, lengths - 1], states[1][rows, lengths - 1])""",
        fails=("test_lstm_layer_lengths",),
    ),
    Mutant(
        name="logits_softmaxed",
        description="forward returns softmax probabilities as its logits (and computes the loss from them)",
        cell=_CLASSIFIER,
        find="logits = self.head(h_n)",
        replace="logits = self.head(h_n).softmax(dim=-1)",
        fails=("test_classifier_final_real_step", "test_classifier_accuracy"),
    ),
    Mutant(
        name="reads_c_n",
        description="the classifier reads the final cell state c_n instead of the hidden state h_n",
        cell=_CLASSIFIER,
        find="logits = self.head(h_n)",
        replace="logits = self.head(c_n)",
        fails=("test_classifier_final_real_step",),
    ),
]
