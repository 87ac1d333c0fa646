"""Typical wrong solutions of a02 (an RNN from scratch), each an edit of one reference solution cell.

``fails`` lists exactly the test cells that lose their points. The backward checks build their own
caches (the layout the notebook prescribes), so a mistake in a forward function does not cost the
backward cells; ``rnn_forward`` calls ``rnn_step_forward`` and ``rnn_backward`` calls
``rnn_step_backward``, so a mistake in a step function also fails the sequence function's cell.
``test_char_model_learns`` trains a character model on everything the student wrote; which
mistakes it catches was measured (see ``autograder/a02_rnn_from_scratch.py``, LOSS_BOUND): not
all of them, which is why the gradient checks exist.
"""
from autograder.mutants import Mutant

_STEP_FWD = "rnn_step_forward"
_STEP_BWD = "rnn_step_backward"
_FWD = "rnn_forward"
_BWD = "rnn_backward"

_T_STEP_FWD = "test_rnn_step_forward"
_T_STEP_BWD = "test_rnn_step_backward"
_T_SHAPES = "test_rnn_forward_shapes"
_T_TORCH = "test_rnn_forward_matches_torch"
_T_BWD = "test_rnn_backward"
_T_CHAR = "test_char_model_learns"

MUTANTS = [
    Mutant(
        name="dwh_uses_h_next",
        description="uses h_t where h_{t-1} belongs: dWh = h_next.T @ da instead of h_prev.T @ da",
        cell=_STEP_BWD,
        find="dWh = h_prev.T @ da",
        replace="dWh = h_next.T @ da",
        fails=(_T_STEP_BWD, _T_BWD, _T_CHAR),
    ),
    Mutant(
        name="missing_tanh_derivative",
        description="backpropagates through tanh without the factor (1 - h^2)",
        cell=_STEP_BWD,
        find="dh_next * (1.0 - h_next ** 2)",
        replace="dh_next",
        fails=(_T_STEP_BWD, _T_BWD, _T_CHAR),
    ),
    Mutant(
        name="dwh_not_accumulated",
        description="overwrites W_hh's gradient at every step instead of summing it over time steps",
        cell=_BWD,
        find="dWh += dWh_t",
        replace="dWh = dWh_t",
        fails=(_T_BWD, _T_CHAR),
    ),
    Mutant(
        name="bias_grad_not_summed",
        description="returns the bias gradient per example, (B, H), instead of summing it over the batch",
        cell=_STEP_BWD,
        find="db = da.sum(axis=0)",
        replace="db = da",
        fails=(_T_STEP_BWD, _T_BWD, _T_CHAR),
    ),
    Mutant(
        name="bias_grad_averaged",
        description="averages the bias gradient over the batch instead of summing it (Adam hides the "
                    "scale error, so the model still learns: only the gradient checks catch it)",
        cell=_STEP_BWD,
        find="db = da.sum(axis=0)",
        replace="db = da.mean(axis=0)",
        fails=(_T_STEP_BWD, _T_BWD),
    ),
    Mutant(
        name="transposed_recurrent_weight",
        description="applies the recurrent weight in PyTorch's (out, in) layout: h_prev @ Wh.T",
        cell=_STEP_FWD,
        find="np.tanh(x @ Wx + h_prev @ Wh + b)",
        replace="np.tanh(x @ Wx + h_prev @ Wh.T + b)",
        fails=(_T_STEP_FWD, _T_TORCH, _T_CHAR),
    ),
    Mutant(
        name="grad_into_h_prev_dropped",
        description="hands each step only dh[:, t], dropping the gradient that flows back from step t + 1 "
                    "(backpropagation truncated to one step; the model still learns local statistics, "
                    "so only the gradient check catches it)",
        cell=_BWD,
        find="dh[:, t] + dh_prev",
        replace="dh[:, t]",
        fails=(_T_BWD,),
    ),
    Mutant(
        name="state_not_carried",
        description="starts every step from h0 instead of the previous step's state",
        cell=_FWD,
        find="rnn_step_forward(x[:, t], h_prev, Wx, Wh, b)",
        replace="rnn_step_forward(x[:, t], h0, Wx, Wh, b)",
        fails=(_T_TORCH, _T_CHAR),
    ),
]

# Mistakes added with issue 10 (inputs modified in place, overflow on large inputs, a quantity
# taken after a transformation, a gradient sent through a tanh that h0 never went through, the
# state read before the step instead of after it).
MUTANTS += [
    Mutant(
        name="step_backward_modifies_dh_next",
        description="multiplies the caller's dh_next in place (da = dh_next; da *= 1 - h^2): the gradients "
                    "are right, but the caller's array is overwritten",
        cell=_STEP_BWD,
        find="da = dh_next * (1.0 - h_next ** 2)",
        replace="da = dh_next\n    da *= (1.0 - h_next ** 2)",
        fails=(_T_STEP_BWD,),
    ),
    Mutant(
        name="backward_adds_into_dh",
        description="adds the gradient from the next step into the caller's dh[:, t] in place",
        cell=_BWD,
        find="dx[:, t], dh_prev, dWx_t, dWh_t, db_t = rnn_step_backward(dh[:, t] + dh_prev, cache[t])",
        replace="dh[:, t] += dh_prev\n        dx[:, t], dh_prev, dWx_t, dWh_t, db_t = rnn_step_backward(dh[:, t], cache[t])",
        fails=(_T_BWD,),
    ),
    Mutant(
        name="tanh_by_exp_overflows",
        description="writes tanh as (exp(2a) - 1) / (exp(2a) + 1), which is NaN once exp(2a) overflows "
                    "(pre-activations above about 355)",
        cell=_STEP_FWD,
        find="h_next = np.tanh(x @ Wx + h_prev @ Wh + b)",
        replace="a = x @ Wx + h_prev @ Wh + b\n    h_next = (np.exp(2 * a) - 1) / (np.exp(2 * a) + 1)",
        fails=(_T_STEP_FWD, _T_TORCH),
    ),
    Mutant(
        name="tanh_reapplied_to_cached_state",
        description="treats the cached h_next as the pre-activation: da = dh_next * (1 - tanh(h_next)^2)",
        cell=_STEP_BWD,
        find="dh_next * (1.0 - h_next ** 2)",
        replace="dh_next * (1.0 - np.tanh(h_next) ** 2)",
        fails=(_T_STEP_BWD, _T_BWD),
    ),
    Mutant(
        name="dh0_through_tanh",
        description="multiplies the gradient into h0 by 1 - h0^2, as if h0 had come out of a tanh",
        cell=_BWD,
        find="return dx, dh_prev, dWx, dWh, db",
        replace="return dx, dh_prev * (1.0 - cache[0][1] ** 2), dWx, dWh, db",
        fails=(_T_BWD,),
    ),
    Mutant(
        name="state_read_before_step",
        description="stores the state before each step instead of after it: h[:, t] is h_{t-1}, so a model "
                    "reading h[:, t] predicts without the current input",
        cell=_FWD,
        find="        h_prev, step_cache = rnn_step_forward(x[:, t], h_prev, Wx, Wh, b)  # (B, H)\n"
             "        states.append(h_prev)",
        replace="        states.append(h_prev)\n"
                "        h_prev, step_cache = rnn_step_forward(x[:, t], h_prev, Wx, Wh, b)  # (B, H)",
        fails=(_T_TORCH, _T_CHAR),
    ),
]
