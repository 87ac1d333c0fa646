"""Typical wrong solutions of a03 (measuring and taming gradients), each an edit of one reference
solution cell.

``fails`` lists exactly the test cells that lose their points. The clipping checks are split by
behaviour (above the threshold, below it, the returned norm, edge cases), so most clipping
mistakes cost one cell. Both ``train_step`` checks (the exact update and the seeded convergence run)
swap a correct ``clip_grad_norm`` into the student's namespace, so they judge the step alone and no
clipping mistake costs ``test_train_step``; the update check also makes sure the step calls that
function rather than ``torch.nn.utils.clip_grad_norm_``.
"""
from autograder.mutants import Mutant

_NORMS = "hidden_grad_norms"
_CLIP = "clip_grad_norm"
_STEP = "train_step"

_CLIP_BLOCK = """    clip_coef = max_norm / (total_norm + eps)
    if clip_coef < 1:                                    # only ever scale down
        for p in params:
            p.grad.detach().mul_(clip_coef)"""

MUTANTS = [
    # ---------------------------------------------------------------- hidden_grad_norms
    Mutant(
        name="norms_detached_state",
        description="detaches the hidden state between steps, so dL/dh_t holds only the direct effect of h_t",
        cell=_NORMS,
        find="_, h = rnn(x[:, t:t + 1], h)",
        replace="_, h = rnn(x[:, t:t + 1], h.detach())",
        fails=("test_hidden_grad_norms_profile",),
    ),
    Mutant(
        name="norms_fused_output_grad",
        description="reads the gradient of nn.RNN's fused output tensor (direct effect only, no recurrence)",
        cell=_NORMS,
        find="""    h = torch.zeros(1, x.shape[0], rnn.hidden_size, device=x.device, dtype=x.dtype)  # (1, B, H): h_0 = 0
    states = []
    for t in range(x.shape[1]):
        _, h = rnn(x[:, t:t + 1], h)        # one step; the next step is fed this very tensor
        states.append(h)                     # (1, B, H)
    outputs = torch.cat(states).transpose(0, 1)             # (B, T, H), as nn.RNN would return
    grads = torch.autograd.grad(loss_fn(outputs), states)   # dL/dh_t through every later step, each (1, B, H)
    return torch.stack([g.double().norm() for g in grads])  # (T,), float64: tiny entries would underflow in float32""",
        replace="""    outputs, _ = rnn(x)                                      # (B, T, H), one fused call
    outputs.retain_grad()
    loss_fn(outputs).backward()
    return outputs.grad.norm(dim=(0, 2))                     # (T,)""",
        fails=("test_hidden_grad_norms_profile",),
    ),
    Mutant(
        name="norms_mean_per_example",
        description="averages per-example norms instead of taking the norm over the whole batch",
        cell=_NORMS,
        find="return torch.stack([g.double().norm() for g in grads])",
        replace="return torch.stack([g.double().norm(dim=-1).mean() for g in grads])",
        fails=("test_hidden_grad_norms_profile",),
    ),
    Mutant(
        name="norms_collects_out",
        description="collects the `out` tensor of each step but feeds `h` to the next step: no later step reads "
                    "`out`, so its gradient is only the direct effect of h_t",
        cell=_NORMS,
        find="""        _, h = rnn(x[:, t:t + 1], h)        # one step; the next step is fed this very tensor
        states.append(h)                     # (1, B, H)""",
        replace="""        out, h = rnn(x[:, t:t + 1], h)      # out: (B, 1, H), the same numbers as h
        states.append(out.transpose(0, 1))   # (1, B, H)""",
        fails=("test_hidden_grad_norms_profile",),
    ),
    Mutant(
        name="norms_float32_underflow",
        description="takes each norm in float32: on a long input the squares of the tiny early gradients "
                    "underflow and the norm comes out as 0",
        cell=_NORMS,
        find="return torch.stack([g.double().norm() for g in grads])",
        replace="return torch.stack([g.norm() for g in grads])",
        fails=("test_hidden_grad_norms_profile",),
    ),
    Mutant(
        name="norms_converts_rnn_in_place",
        description="converts the caller's layer and input to float64 with rnn.double() (in place) to get "
                    "float64 norms",
        cell=_NORMS,
        find="""    h = torch.zeros(1, x.shape[0], rnn.hidden_size, device=x.device, dtype=x.dtype)  # (1, B, H): h_0 = 0""",
        replace="""    rnn, x = rnn.double(), x.double()
    h = torch.zeros(1, x.shape[0], rnn.hidden_size, device=x.device, dtype=x.dtype)  # (1, B, H): h_0 = 0""",
        fails=("test_hidden_grad_norms_shape", "test_hidden_grad_norms_profile"),
    ),
    Mutant(
        name="norms_hardcodes_tanh",
        description="re-implements the step with torch.tanh instead of calling the layer: wrong for a ReLU nn.RNN",
        cell=_NORMS,
        find="        _, h = rnn(x[:, t:t + 1], h)        # one step; the next step is fed this very tensor",
        replace="""        h = torch.tanh(x[:, t] @ rnn.weight_ih_l0.T + h[0] @ rnn.weight_hh_l0.T
                       + rnn.bias_ih_l0 + rnn.bias_hh_l0)[None]""",
        fails=("test_hidden_grad_norms_profile",),
    ),
    # ---------------------------------------------------------------- clip_grad_norm
    Mutant(
        name="clip_per_parameter",
        description="clips each parameter's gradient to max_norm separately instead of by the global norm",
        cell=_CLIP,
        find=_CLIP_BLOCK,
        replace="""    for p in params:
        clip_coef = max_norm / (torch.linalg.vector_norm(p.grad) + eps)
        if clip_coef < 1:
            p.grad.detach().mul_(clip_coef)""",
        fails=("test_clip_matches_torch",),
    ),
    Mutant(
        name="clip_no_min_one",
        description="always scales by max_norm / total (no min(1, .)), so small gradients are scaled up",
        cell=_CLIP,
        find=_CLIP_BLOCK,
        replace="""    clip_coef = max_norm / (total_norm + eps)
    for p in params:
        p.grad.detach().mul_(clip_coef)""",
        fails=("test_clip_below_threshold",),
    ),
    Mutant(
        name="clip_no_epsilon",
        description="divides by the bare total norm (no eps): the coefficient differs from PyTorch's, "
                    "visibly so for small norms, and is inf or NaN when every gradient is zero",
        cell=_CLIP,
        find="clip_coef = max_norm / (total_norm + eps)",
        replace="clip_coef = max_norm / total_norm",
        fails=("test_clip_matches_torch",),
    ),
    Mutant(
        name="clip_returns_clipped_norm",
        description="returns the norm after clipping instead of the original total norm",
        cell=_CLIP,
        find="    return total_norm",
        replace="    return torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(p.grad) for p in params]))",
        fails=("test_clip_returns_total_norm",),
    ),
    Mutant(
        name="clip_norm_of_parameters",
        description="takes the norms of the parameters instead of their gradients",
        cell=_CLIP,
        find="torch.linalg.vector_norm(p.grad.detach()) for p in params",
        replace="torch.linalg.vector_norm(p.detach()) for p in params",
        fails=("test_clip_matches_torch", "test_clip_below_threshold", "test_clip_returns_total_norm",
               "test_clip_edge_cases"),
    ),
    Mutant(
        name="clip_ignores_eps",
        description="adds a fixed 1e-6 to the total norm and ignores the eps argument",
        cell=_CLIP,
        find="clip_coef = max_norm / (total_norm + eps)",
        replace="clip_coef = max_norm / (total_norm + 1e-6)",
        fails=("test_clip_matches_torch",),
    ),
    Mutant(
        name="clip_scales_parameters",
        description="scales the parameters in place instead of their gradients",
        cell=_CLIP,
        find="            p.grad.detach().mul_(clip_coef)",
        replace="            p.detach().mul_(clip_coef)",
        fails=("test_clip_matches_torch", "test_clip_edge_cases"),
    ),
    Mutant(
        name="clip_rebinds_grad",
        description="replaces each .grad by a new scaled tensor (p.grad = p.grad * c) instead of scaling it in place",
        cell=_CLIP,
        find="            p.grad.detach().mul_(clip_coef)",
        replace="            p.grad = p.grad * clip_coef",
        fails=("test_clip_matches_torch",),
    ),
    # ---------------------------------------------------------------- train_step
    Mutant(
        name="step_clips_after_update",
        description="clips after optimizer.step(), when the unclipped gradients have already been used",
        cell=_STEP,
        find="""    total_norm = clip_grad_norm(model.parameters(), math.inf if max_norm is None else max_norm)
    optimizer.step()""",
        replace="""    optimizer.step()
    total_norm = clip_grad_norm(model.parameters(), math.inf if max_norm is None else max_norm)""",
        fails=("test_train_step",),
    ),
    Mutant(
        name="step_no_zero_grad",
        description="never zeroes the gradients, so they accumulate over the steps",
        cell=_STEP,
        find="    optimizer.zero_grad(set_to_none=True)\n",
        replace="",
        fails=("test_train_step",),
    ),
    Mutant(
        name="step_returns_clipped_norm",
        description="returns the gradient norm after clipping (at most max_norm) instead of the one before",
        cell=_STEP,
        find="    return loss.item(), float(total_norm)",
        replace="    return loss.item(), min(float(total_norm), math.inf if max_norm is None else max_norm)",
        fails=("test_train_step",),
    ),
    Mutant(
        name="step_loss_after_update",
        description="returns the loss recomputed after the optimizer step instead of the batch loss before it",
        cell=_STEP,
        find="    return loss.item(), float(total_norm)",
        replace="""    with torch.no_grad():
        loss = model(*inputs, targets=targets)[1]
    return loss.item(), float(total_norm)""",
        fails=("test_train_step",),
    ),
    Mutant(
        name="step_uses_torch_clip",
        description="clips with torch.nn.utils.clip_grad_norm_ instead of the student's own clip_grad_norm",
        cell=_STEP,
        find="total_norm = clip_grad_norm(model.parameters(),",
        replace="total_norm = nn.utils.clip_grad_norm_(model.parameters(),",
        fails=("test_train_step",),
    ),
    Mutant(
        name="step_none_clips_at_one",
        description="treats max_norm=None as a default threshold of 1.0 instead of no clipping",
        cell=_STEP,
        find="math.inf if max_norm is None else max_norm)",
        replace="1.0 if max_norm is None else max_norm)",
        fails=("test_train_step",),
    ),
]
