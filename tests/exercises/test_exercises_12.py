"""Notebook 12's exercise checks on answers written here: right answers written differently from the
notebook's solutions pass every check; plausible wrong ones (a common mistake, a hard-coded result,
the test set where validation is asked) fail the checks named in each test."""

from __future__ import annotations

import math
from functools import partial

import pytest
import torch
import torch.nn.functional as F
from exercise_answers import passes_all, verdicts
from torch import nn

from fmnist_helpers import CapstoneNet, TensorBatches, evaluate, load_tensors, normalize, predict_with_flip

# --- 12.1 count by hand ---------------------------------------------------------------------------


def count_block(in_channels: int, out_channels: int) -> int:
    """The conv's kernels, then batch norm's scale and shift, counted layer by layer."""
    conv = out_channels * in_channels * 9
    batch_norm = out_channels + out_channels
    return conv + batch_norm


COUNTS = {
    "block_parameters": count_block,
    "head_parameters": lambda channels, classes: (channels + 1) * classes,
    "flatten_head_parameters": lambda c, h, w, k: (c * h * w + 1) * k,
}


def test_12_1_counts_written_differently_pass():
    assert passes_all("12.1", COUNTS)


def test_12_1_counting_a_bias_and_batch_norms_buffers_fails_the_block():
    with_bias = {**COUNTS, "block_parameters": lambda i, o: 9 * i * o + o + 2 * o}
    with_buffers = {**COUNTS, "block_parameters": lambda i, o: 9 * i * o + 4 * o}
    assert verdicts("12.1", with_bias) == [False, True, True]
    assert verdicts("12.1", with_buffers) == [False, True, True]


def test_12_1_heads_without_biases_fail():
    no_bias = {**COUNTS, "head_parameters": lambda c, k: c * k,
               "flatten_head_parameters": lambda c, h, w, k: c * h * w * k}
    assert verdicts("12.1", no_bias) == [True, False, False]


def test_12_1_the_instructors_numbers_typed_in_fail():
    typed = {"block_parameters": lambda *_: 18_560, "head_parameters": lambda *_: 650,
             "flatten_head_parameters": lambda *_: 31_370}
    assert verdicts("12.1", typed) == [False, False, False]


def test_12_1_a_flattening_head_that_forgets_the_positions_fails():
    per_channel = {**COUNTS, "flatten_head_parameters": lambda c, h, w, k: (c + 1) * k}
    assert verdicts("12.1", per_channel) == [True, True, False]


# --- 12.2 label smoothing by hand -----------------------------------------------------------------

def smoothed_loss(logits: torch.Tensor, labels: torch.Tensor, smoothing: float) -> torch.Tensor:
    """Smoothing as a mix of the plain loss and the loss against the uniform target."""
    log_probs = logits.log_softmax(dim=-1)
    plain = -log_probs.gather(1, labels[:, None]).squeeze(1)
    uniform = -log_probs.mean(dim=-1)
    return ((1 - smoothing) * plain + smoothing * uniform).mean()


def lowest_loss(smoothing: float, classes: int) -> float:
    """The entropy of the smoothed target, term by term."""
    high, low = 1 - smoothing + smoothing / classes, smoothing / classes
    return -(high * math.log(high) + (classes - 1) * low * math.log(low))


SMOOTHING = {"smoothed_cross_entropy": smoothed_loss, "lowest_smoothed_loss": lowest_loss}


def test_12_2_smoothing_written_differently_passes():
    assert passes_all("12.2", SMOOTHING)


def test_12_2_spreading_over_the_other_classes_only_fails():
    def others_only(logits: torch.Tensor, labels: torch.Tensor, smoothing: float) -> torch.Tensor:
        classes = logits.shape[1]
        targets = torch.full_like(logits, smoothing / (classes - 1))
        targets.scatter_(1, labels[:, None], 1 - smoothing)
        return -(targets * F.log_softmax(logits, dim=1)).sum(dim=1).mean()

    assert verdicts("12.2", {**SMOOTHING, "smoothed_cross_entropy": others_only}) == [True, False, True]


def test_12_2_a_sum_over_the_batch_and_ten_fixed_classes_fail():
    def summed(logits: torch.Tensor, labels: torch.Tensor, smoothing: float) -> torch.Tensor:
        return smoothed_loss(logits, labels, smoothing) * len(labels)

    def ten_classes(logits: torch.Tensor, labels: torch.Tensor, smoothing: float) -> torch.Tensor:
        targets = F.one_hot(labels, 10).float() * (1 - smoothing) + smoothing / 10
        return -(targets * F.log_softmax(logits, dim=1)).sum(dim=1).mean()

    assert verdicts("12.2", {**SMOOTHING, "smoothed_cross_entropy": summed}) == [False, False, True]
    assert verdicts("12.2", {**SMOOTHING, "smoothed_cross_entropy": ten_classes}) == [True, False, True]


def test_12_2_a_typed_lowest_loss_and_zero_fail():
    typed = {**SMOOTHING, "lowest_smoothed_loss": lambda smoothing, classes: 0.5004}
    zero = {**SMOOTHING, "lowest_smoothed_loss": lambda smoothing, classes: 0.0}
    assert verdicts("12.2", typed) == [True, True, False]
    assert verdicts("12.2", zero) == [True, True, False]


# --- 12.3 up, down, left, right -------------------------------------------------------------------

def mirror(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    return model(torch.flip(images, dims=[3]))


VIEWS = {
    "mirrored_logits": mirror,
    "upside_down_logits": lambda model, images: model(images[:, :, torch.arange(27, -1, -1)]),
    "flip_tta_logits": lambda model, images: torch.stack([model(images), mirror(model, images)]).mean(0),
}


def test_12_3_flips_written_differently_pass():
    assert passes_all("12.3", VIEWS)
    assert passes_all("12.3", {**VIEWS, "flip_tta_logits": predict_with_flip})  # the package's own


def test_12_3_swapped_flips_fail():
    swapped = {**VIEWS, "mirrored_logits": lambda model, images: model(images.flip(2)),
               "upside_down_logits": mirror}
    assert verdicts("12.3", swapped) == [False, False, True]


def test_12_3_flipping_the_batch_or_the_channels_fails():
    batch = {**VIEWS, "upside_down_logits": lambda model, images: model(images.flip(0))}
    channels = {**VIEWS, "mirrored_logits": lambda model, images: model(images.flip(1))}
    assert verdicts("12.3", batch) == [True, False, True]
    assert verdicts("12.3", channels) == [False, True, True]


def test_12_3_tta_that_sums_or_keeps_only_the_mirror_fails():
    summed = {**VIEWS, "flip_tta_logits": lambda model, images: model(images) + mirror(model, images)}
    mirror_only = {**VIEWS, "flip_tta_logits": mirror}
    assert verdicts("12.3", summed) == [True, True, False]
    assert verdicts("12.3", mirror_only) == [True, True, False]


def test_12_3_typed_accuracies_fail():
    """Numbers instead of logits: what the exercise asked for before."""
    typed = dict.fromkeys(VIEWS, lambda model, images: torch.tensor(0.9155))
    assert verdicts("12.3", typed) == [False, False, False]


# --- 12.4 read the schedule -----------------------------------------------------------------------

def rates_by_hand(max_lr: float, total_steps: int, pct_start: float) -> list[float]:
    """OneCycleLR's rates from its documented formula: cosine up from max_lr / 25, then cosine down
    to that divided by 10,000, with phase ends at steps pct_start * total_steps - 1 and the last."""
    start, end = max_lr / 25, max_lr / 25 / 10_000
    peak = float(pct_start * total_steps) - 1
    rates = []
    for step in range(total_steps):
        if step <= peak:
            low, high, share = start, max_lr, step / peak
        else:
            low, high, share = max_lr, end, (step - peak) / (total_steps - 1 - peak)
        rates.append(high + (low - high) / 2 * (math.cos(math.pi * share) + 1))
    return rates


def scheduler_rates(max_lr: float, total_steps: int, pct_start: float, after: bool = False) -> list[float]:
    """PyTorch's OneCycleLR with SGD; ``after``: the rate read after each step (one step late)."""
    optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(2))], lr=max_lr, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr, total_steps=total_steps,
                                                    pct_start=pct_start)
    rates = []
    for _ in range(total_steps):
        if not after:
            rates.append(scheduler.get_last_lr()[0])
        optimizer.step()
        scheduler.step()
        if after:
            rates.append(scheduler.get_last_lr()[0])
    return rates


def test_12_4_schedules_written_differently_pass():
    assert passes_all("12.4", {"one_cycle_rates": rates_by_hand})
    assert passes_all("12.4", {"one_cycle_rates": scheduler_rates})


def test_12_4_reading_after_the_step_fails():
    late = partial(scheduler_rates, after=True)
    assert verdicts("12.4", {"one_cycle_rates": late}) == [True, False, False]


def test_12_4_the_notebooks_settings_hard_coded_fail():
    fixed = {"one_cycle_rates": lambda max_lr, total_steps, pct_start: scheduler_rates(0.01, 1000, 0.25)}
    fixed_warm_up = {"one_cycle_rates": lambda max_lr, total_steps, pct_start:
                     scheduler_rates(max_lr, total_steps, 0.25)}
    assert verdicts("12.4", fixed) == [False, True, False]
    assert verdicts("12.4", fixed_warm_up) == [True, True, False]


def test_12_4_a_linear_schedule_fails():
    def linear(max_lr: float, total_steps: int, pct_start: float) -> list[float]:
        optimizer = torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=max_lr)
        scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr, total_steps=total_steps,
                                                        pct_start=pct_start, anneal_strategy="linear")
        rates = []
        for _ in range(total_steps):
            rates.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            scheduler.step()
        return rates

    assert verdicts("12.4", {"one_cycle_rates": linear}) == [True, False, False]


# --- 12.5 a rung of your own ----------------------------------------------------------------------

class WideHead(nn.Module):
    """CapstoneNet with a hidden layer in its head: 70,330 + 64 * 64 + 64 + (64 + 1) * 10 - 650."""

    def __init__(self) -> None:
        super().__init__()
        self.body = CapstoneNet()
        self.body.head = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.body(images)


def accuracy_by_hand(model: nn.Module, batches: TensorBatches) -> float:
    model.eval()
    with torch.no_grad():
        correct = sum((model(x).argmax(1) == y).sum().item() for x, y in batches)
    return correct / sum(len(y) for _, y in batches)


def keep_if_better(new_model: nn.Module, old_model: nn.Module, validation: TensorBatches,
                   margin: float) -> bool:
    return accuracy_by_hand(new_model, validation) > accuracy_by_hand(old_model, validation) + margin


RUNG = {"make_my_network": WideHead, "keep_rung": keep_if_better}


@pytest.fixture(scope="module")
def test_batches(data_root) -> TensorBatches:
    """A slice of the Fashion-MNIST test set, as the notebook's test_batches holds it."""
    images, labels = load_tensors(train=False, root=data_root)
    return TensorBatches(normalize(images[:500]), labels[:500], 100)


def test_12_5_a_rung_written_differently_passes():
    assert passes_all("12.5", RUNG)
    deeper = partial(CapstoneNet, stages=((16,), (32, 32), (64, 64, 32)))  # 88,506 parameters
    assert passes_all("12.5", {**RUNG, "make_my_network": deeper})


def test_12_5_deciding_on_the_test_set_fails(test_batches):
    def on_test(new_model: nn.Module, old_model: nn.Module, validation: TensorBatches,
                margin: float) -> bool:
        gain = evaluate(new_model, test_batches).accuracy - evaluate(old_model, test_batches).accuracy
        return gain > margin

    assert verdicts("12.5", {**RUNG, "keep_rung": on_test})[:3] == [True, True, False]


def test_12_5_ignoring_the_margin_fails():
    no_margin = {**RUNG, "keep_rung": lambda new, old, batches, _: keep_if_better(new, old, batches, 0.0)}
    assert verdicts("12.5", no_margin) == [True, True, True, False]


def test_12_5_networks_over_or_under_the_budget_fail():
    too_wide = partial(CapstoneNet, stages=((32,), (64, 64), (64, 64)))
    assert verdicts("12.5", {**RUNG, "make_my_network": too_wide}) == [False, True, True, True]
    assert verdicts("12.5", {**RUNG, "make_my_network": CapstoneNet}) == [False, True, True, True]


def test_12_5_typed_numbers_fail():
    """The row's numbers, as the exercise asked for them before, instead of functions."""
    typed = {"make_my_network": lambda: 84_186, "keep_rung": lambda *_: True}
    assert verdicts("12.5", typed) == [False, False, False, False]
