"""The checks of notebook 13's exercises on answers written here: right ones written differently
from the notebook's solutions (every check passes) and plausible wrong ones (the checks they break
fail, the others pass), each judged in the kernel and through the grader's serialized split."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from exercise_answers import passes_all, verdicts
from torch import nn

from fmnist_helpers.exercises.nb13 import STOP_CASES, WALK_CASES, reference_stopping_point

# --- 13.1 · dropout by hand ----------------------------------------------------------------------


class BernoulliDropout(nn.Module):
    """A mask from ``torch.bernoulli`` of the keep probability, applied with ``torch.where``."""

    def __init__(self, p):
        super().__init__()
        self.keep = 1.0 - p

    def forward(self, x):
        if self.training:
            mask = torch.bernoulli(torch.full_like(x, self.keep))
            return torch.where(mask.bool(), x / self.keep, torch.zeros_like(x))
        return x


def dropout_with(*, scale="inverse", keep_share=False, in_eval=False, shared_mask=False,
                 fixed_seed=False):
    """A hand-written dropout with one mistake: no scaling or scaling by 1 - p, p read as the share
    kept, dropping in eval mode too, one mask for every row of the batch, or a fixed seed."""

    class Dropout(nn.Module):
        def __init__(self, p):
            super().__init__()
            self.p = p

        def forward(self, x):
            if not (self.training or in_eval):
                return x
            if fixed_seed:
                torch.manual_seed(0)
            shape = (1, *x.shape[1:]) if shared_mask else x.shape
            draws = torch.rand(shape)
            keep = draws < self.p if keep_share else draws >= self.p
            factor = {"inverse": 1 / (1 - self.p), "none": 1.0, "times": 1 - self.p}[scale]
            return x * keep * factor

    return Dropout


class NotAModule:
    """Dropout as a plain class: no train() or eval()."""

    def __init__(self, p):
        self.p = p

    def __call__(self, x):
        return x * (torch.rand_like(x) >= self.p) / (1 - self.p)


def test_13_1_bernoulli_masks_and_where_pass():
    assert passes_all("13.1", {"HandDropout": BernoulliDropout})


def test_13_1_nn_dropout_itself_passes():
    """The checks compare with nn.Dropout's behaviour, so nn.Dropout passes them."""
    assert passes_all("13.1", {"HandDropout": nn.Dropout})


@pytest.mark.parametrize(("answer", "expected"), [
    (dropout_with(scale="none"), [True, False, True, True]),
    (dropout_with(scale="times"), [True, False, True, True]),
    (dropout_with(keep_share=True), [True, True, False, True]),
    (dropout_with(in_eval=True), [False, True, True, True]),
    (dropout_with(fixed_seed=True), [True, True, True, False]),
    (NotAModule, [False, False, False, False]),
])
def test_13_1_wrong_dropouts_fail(answer, expected):
    assert verdicts("13.1", {"HandDropout": answer}) == expected


def test_13_1_one_mask_for_the_whole_batch_fails_the_draws_check():
    """500 draws broadcast over 40 rows: the share of zeros then rests on 500 draws only, so the
    share check may or may not notice; the check of fresh draws always does."""
    results = verdicts("13.1", {"HandDropout": dropout_with(shared_mask=True)})
    assert results[:2] == [True, True] and results[3] is False


def test_13_1_checks_leave_the_global_generator_alone():
    state = torch.random.get_rng_state()
    verdicts("13.1", {"HandDropout": BernoulliDropout})
    assert torch.equal(torch.random.get_rng_state(), state)


# --- 13.2 · early stopping on a list -------------------------------------------------------------


def stopping_by_counting(scores, patience, min_delta=0.0):
    """A counter of epochs without improvement, reset on every improvement; a while loop."""
    best, best_epoch, waited, epoch = scores[0], 1, 0, 1
    while epoch < len(scores) and waited < patience:
        epoch += 1
        if scores[epoch - 1] - best > min_delta:
            best, best_epoch, waited = scores[epoch - 1], epoch, 0
        else:
            waited += 1
    return best_epoch, epoch


def stopping_with(*, off_by=0, peeks=False, ties_improve=False, no_delta=False, from_zero=False,
                  lower_is_better=False):
    """The rule with one mistake: patience off by one, the best over the whole list, ties counted
    as improvements, min_delta ignored, epochs counted from 0, or the lowest score taken as best."""

    def stopping(scores, patience, min_delta=0.0):
        delta = 0.0 if no_delta else min_delta
        values = [-s for s in scores] if lower_is_better else list(scores)
        best, best_epoch = -math.inf, 0
        stop = len(values)
        for epoch, value in enumerate(values, start=1):
            if value > best + delta or (ties_improve and value == best):
                best, best_epoch = value, epoch
            elif epoch - best_epoch >= patience + off_by:
                stop = epoch
                break
        if peeks:
            best_epoch = max(range(len(values)), key=lambda i: values[i]) + 1
        shift = 1 if from_zero else 0
        return best_epoch - shift, stop - shift

    return stopping


def test_13_2_a_counter_in_a_while_loop_passes():
    assert passes_all("13.2", {"stopping_point": stopping_by_counting})


def test_13_2_numpy_and_tensor_epochs_are_read_as_integers():
    def as_tensors(scores, patience, min_delta=0.0):
        best, stop = stopping_by_counting(scores, patience, min_delta)
        return torch.tensor(best), float(stop)

    assert passes_all("13.2", {"stopping_point": as_tensors})


def test_13_2_the_made_up_curves_tell_the_mistakes_apart():
    """Each kind of curve has a case where the reference rule differs from the mistake it targets."""
    cases = [case for kind in STOP_CASES.values() for case in kind] + list(WALK_CASES)
    for mistake in (stopping_with(off_by=1), stopping_with(peeks=True), stopping_with(ties_improve=True),
                    stopping_with(no_delta=True)):
        assert any(mistake(list(s), p, d) != reference_stopping_point(s, p, d) for s, p, d in cases)


@pytest.mark.parametrize(("answer", "expected"), [
    (stopping_with(off_by=1), [False, False, False, False, True, False]),
    (stopping_with(off_by=-1), [False, False, False, False, False, False]),
    (stopping_with(peeks=True), [True, False, True, False, True, False]),
    (stopping_with(ties_improve=True), [True, True, False, True, True, True]),
    (stopping_with(no_delta=True), [True, True, True, False, True, True]),
    (stopping_with(from_zero=True), [False, False, False, False, False, False]),
    (stopping_with(lower_is_better=True), [False, False, False, False, False, False]),
    (lambda scores, patience, min_delta=0.0: (4, 7), [False, False, False, False, False, False]),
])
def test_13_2_wrong_rules_fail(answer, expected):
    assert verdicts("13.2", {"stopping_point": answer}) == expected


# --- 13.3 · an L2 penalty ------------------------------------------------------------------------


def penalty_by_flattening(model, strength):
    """Every parameter flattened into one vector; its dot product with itself."""
    flat = torch.cat([p.reshape(-1) for p in model.parameters()])
    return 0.5 * strength * torch.dot(flat, flat)


def penalty_from_named_parameters(model, strength):
    total = torch.zeros(())
    for _, parameter in model.named_parameters():
        total = total + parameter.pow(2).sum()
    return total * strength / 2


def penalty_with(*, half=True, weights_only=False, as_number=False, detached=False, mean=False,
                 absolute=False):
    """The penalty with one mistake: no factor one half, biases left out, a Python number, a
    detached tensor, a mean instead of a sum, or absolute values (L1)."""

    def penalty(model, strength):
        parameters = [p for name, p in model.named_parameters() if not (weights_only and "bias" in name)]
        values = torch.cat([(p.abs() if absolute else p**2).reshape(-1) for p in parameters])
        total = values.mean() if mean else values.sum()
        total = total * strength * (0.5 if half else 1.0)
        if detached:
            total = total.detach()
        return total.item() if as_number else total

    return penalty


def test_13_3_flattened_and_named_parameter_penalties_pass():
    assert passes_all("13.3", {"l2_penalty": penalty_by_flattening})
    assert passes_all("13.3", {"l2_penalty": penalty_from_named_parameters})


@pytest.mark.parametrize(("answer", "expected"), [
    (penalty_with(half=False), [False, False, False]),
    (penalty_with(weights_only=True), [False, False, False]),
    (penalty_with(as_number=True), [True, False, False]),
    (penalty_with(detached=True), [True, False, False]),
    (penalty_with(mean=True), [False, False, False]),
    (penalty_with(absolute=True), [False, False, False]),
    (lambda model, strength: 0.1234, [False, False, False]),
])
def test_13_3_wrong_penalties_fail(answer, expected):
    assert verdicts("13.3", {"l2_penalty": answer}) == expected


def test_13_3_the_sgd_check_is_what_weight_decay_does():
    """The check's claim, on a model of its own: one SGD step with the right penalty is one step
    with weight_decay (so a right answer cannot fail the third check for rounding)."""
    torch.manual_seed(0)
    model = nn.Linear(4, 3)
    twin = nn.Linear(4, 3)
    twin.load_state_dict(model.state_dict())
    x, y = torch.randn(5, 4), torch.tensor([0, 1, 2, 0, 1])
    by_penalty = torch.optim.SGD(model.parameters(), lr=0.5)
    (F.cross_entropy(model(x), y) + penalty_by_flattening(model, 0.03)).backward()
    by_penalty.step()
    by_decay = torch.optim.SGD(twin.parameters(), lr=0.5, weight_decay=0.03)
    F.cross_entropy(twin(x), y).backward()
    by_decay.step()
    assert all(torch.allclose(a, b, atol=1e-7) for a, b in zip(model.parameters(), twin.parameters(),
                                                              strict=True))
