"""Checks for the exercises of notebook 13 (generalization).

Every check calls the student's code on inputs it makes itself: seeded positive tensors for the
hand-written dropout (compared with ``nn.Dropout`` on the same tensors), made-up sequences of
validation scores for the early-stopping function, and small seeded networks for the L2 penalty.
Probes return plain data; judges decide from it with the check's own reference computations
(``nn.Dropout``, a reference early-stopping rule, ``torch.optim.SGD(weight_decay=...)``), never
with the student's code or the notebook's state.
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .engine import Check, exercise
from .probing import plain_tensor, seeded

# --- 13.1 dropout by hand -------------------------------------------------------------------------

DROP_SHAPE = (40, 500)
"""The check's batch: 40 rows (images) of 500 values, 20,000 values in all."""
DROP_RATES = (0.2, 0.6)
"""The rates the check asks about (not 0.5, where dropping a share p and keeping it look alike)."""
SHARE_TOLERANCE = 0.02  # about six standard deviations of the dropped share of 20,000 values


def _drop_input() -> torch.Tensor:
    """Seeded values in [0.5, 1.5): none is 0, so a 0 in the output means the value was dropped."""
    return torch.rand(DROP_SHAPE, generator=torch.Generator().manual_seed(1301)) + 0.5


def _dropout_probe(ns: Mapping[str, Any]) -> dict[str, Any]:
    """The student's layer for each rate: two calls in train mode, one in eval mode."""
    x = _drop_input()
    data: dict[str, Any] = {}
    with seeded(1302), torch.no_grad():
        for p in DROP_RATES:
            layer = ns["HandDropout"](p)
            layer.train()
            first, second = plain_tensor(layer(x.clone())), plain_tensor(layer(x.clone()))
            layer.eval()
            data[str(p)] = {"train": [first, second], "eval": plain_tensor(layer(x.clone()))}
    return data


@functools.cache
def _torch_scale(p: float) -> float:
    """The factor ``nn.Dropout(p)`` multiplies the values it keeps by, read from its output."""
    x = _drop_input()
    with seeded(1303):
        out = nn.Dropout(p).train()(x)
    kept = out != 0
    return (out[kept] / x[kept]).mean().item()


def _outputs(data: Any, p: float, mode: str) -> Any:
    return data[str(p)][mode]


def _is_output(value: Any) -> bool:
    return (isinstance(value, torch.Tensor) and tuple(value.shape) == DROP_SHAPE
            and value.is_floating_point())


def _judge_eval(data: Any) -> bool:
    x = _drop_input()
    return all(_is_output(out := _outputs(data, p, "eval")) and torch.allclose(out.float(), x)
               for p in DROP_RATES)


def _judge_scale(data: Any) -> bool:
    x = _drop_input()
    for p in DROP_RATES:
        for out in _outputs(data, p, "train"):
            if not _is_output(out):
                return False
            kept = out != 0
            if not kept.any() or not torch.allclose(out[kept].float(), x[kept] * _torch_scale(p),
                                                    rtol=1e-4, atol=1e-6):
                return False
    return True


def _judge_share(data: Any) -> bool:
    for p in DROP_RATES:
        for out in _outputs(data, p, "train"):
            if not _is_output(out) or abs((out == 0).float().mean().item() - p) > SHARE_TOLERANCE:
                return False
    return True


def _judge_fresh_draws(data: Any) -> bool:
    """The two calls drop different values, and the rows of one call differ from each other."""
    for p in DROP_RATES:
        first, second = _outputs(data, p, "train")
        if not (_is_output(first) and _is_output(second)):
            return False
        dropped = first == 0
        if torch.equal(dropped, second == 0) or bool((dropped == dropped[:1]).all()):
            return False
    return True


exercise("13.1", "dropout by hand", needs=["HandDropout"], checks=[
    Check("in eval mode HandDropout(p) returns its input unchanged, as nn.Dropout does",
          _dropout_probe, judge=_judge_eval,
          hint="a module knows its mode from its training attribute, which train() and eval() set; "
               "outside training, dropout does nothing at all"),
    Check("in train mode every value is either 0 or multiplied by nn.Dropout's factor for the "
          "values it keeps (p = 0.2 and 0.6)",
          _dropout_probe, judge=_judge_scale, points=2,
          hint="the values that survive are scaled up so that the expected value of every output "
               "equals its input: a value kept with probability 1 - p must be divided by that "
               "probability (compare with nn.Dropout's output in the notebook)"),
    Check("in train mode it drops a share p of the values (p = 0.2 and 0.6, 20,000 values)",
          _dropout_probe, judge=_judge_share,
          hint="p is the probability of dropping a value, not of keeping it: draw one uniform "
               "random number per value and drop the value when its number falls in a range of "
               "probability p"),
    Check("every call draws anew, and each value of the batch has its own draw",
          _dropout_probe, judge=_judge_fresh_draws,
          hint="draw the random numbers inside forward, one for every value of the input (the "
               "same shape as the input), from PyTorch's global generator: no fixed seed and no "
               "mask shared by the images of a batch"),
])


# --- 13.2 early stopping on a list of scores ------------------------------------------------------

def reference_stopping_point(scores: Sequence[float], patience: int,
                             min_delta: float = 0.0) -> tuple[int, int]:
    """The check's own rule: ``(best_epoch, stop_epoch)``, epochs counted from 1. An epoch improves
    when its score beats the best so far by more than ``min_delta``; training stops after
    ``patience`` epochs in a row without improvement, else after the last epoch."""
    best, best_epoch = -math.inf, 0
    for epoch, score in enumerate(scores, start=1):
        if score > best + min_delta:
            best, best_epoch = score, epoch
        elif epoch - best_epoch >= patience:
            return best_epoch, epoch
    return best_epoch, len(scores)


def _walk(seed: int, length: int) -> list[float]:
    """A made-up validation curve: a quick rise, a slow decline, noise (rounded to 4 decimals)."""
    epochs = torch.arange(length, dtype=torch.float64)
    noise = torch.randn(length, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    curve = 0.6 + 0.25 * (1 - torch.exp(-epochs / 4)) - 0.006 * epochs + 0.01 * noise
    return [round(v, 4) for v in curve.tolist()]


STOP_CASES: dict[str, tuple[tuple[tuple[float, ...], int, float], ...]] = {
    "peak": (((0.60, 0.70, 0.75, 0.78, 0.77, 0.76, 0.75, 0.74), 3, 0.0),
             ((0.50, 0.65, 0.64, 0.66, 0.63, 0.62, 0.61, 0.60, 0.59), 2, 0.0),
             ((0.70, 0.69, 0.68, 0.67), 3, 0.0)),
    "unseen": (((0.50, 0.70, 0.60, 0.60, 0.60, 0.90, 0.95), 3, 0.0),
               ((0.80, 0.79, 0.81, 0.78, 0.77, 0.99), 2, 0.0)),
    "ties": (((0.50, 0.70, 0.70, 0.70, 0.70, 0.70), 2, 0.0),
             ((0.40, 0.60, 0.60, 0.61, 0.61, 0.61, 0.61), 3, 0.0)),
    "delta": (((0.700, 0.705, 0.708, 0.709, 0.720, 0.721), 3, 0.01),
              ((0.60, 0.65, 0.66, 0.70, 0.705, 0.71, 0.712, 0.713), 2, 0.02),
              ((0.60, 0.65, 0.66, 0.70, 0.705, 0.71, 0.712, 0.713), 2, 0.0)),
    "end": (((0.50, 0.55, 0.60, 0.65, 0.70), 2, 0.0),
            ((0.50, 0.60, 0.55, 0.65, 0.62, 0.70), 2, 0.0)),
}
"""``(scores, patience, min_delta)`` of each kind of curve the check asks about."""
WALK_CASES = tuple((tuple(_walk(seed, length)), patience, 0.0)
                   for seed, length, patience in ((1, 30, 4), (2, 25, 3), (3, 40, 6), (4, 20, 1)))
"""Longer made-up curves, with other patiences."""


def _index(value: Any) -> Any:
    """A returned epoch as an int (a one-element tensor or an integral float too); else its repr."""
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, numbers.Real) and not isinstance(value, bool) and float(value).is_integer():
        return int(value)
    return repr(value)[:100]


def _stopping_probe(kind: str):
    def probe(ns: Mapping[str, Any]) -> list[Any]:
        cases = WALK_CASES if kind == "walks" else STOP_CASES[kind]
        answers = []
        for scores, patience, min_delta in cases:
            best, stop = ns["stopping_point"](list(scores), patience, min_delta)
            answers.append([_index(best), _index(stop)])
        return answers
    return probe


def _stopping_judge(kind: str):
    def judge(data: Any) -> bool:
        cases = WALK_CASES if kind == "walks" else STOP_CASES[kind]
        expected = [list(reference_stopping_point(*case)) for case in cases]
        return data == expected
    return judge


def _stopping_check(kind: str, description: str, hint: str, points: int = 1) -> Check:
    return Check(description, _stopping_probe(kind), hint, judge=_stopping_judge(kind), points=points)


exercise("13.2", "early stopping on a list", needs=["stopping_point"], checks=[
    _stopping_check("peak", "on curves that rise, peak and fall it keeps the peak's epoch and stops "
                    "when patience runs out (epochs counted from 1)",
                    "walk through the scores in order, remembering the best score so far and its "
                    "epoch; count the epochs since that best, and stop at the epoch where the count "
                    "reaches patience. Epochs are numbered from 1, as in the notebook's history",
                    points=2),
    _stopping_check("unseen", "a higher score after the stop changes nothing: early stopping cannot "
                    "see the future",
                    "early stopping decides during training: once it has stopped, the epochs after "
                    "never happen, so the best epoch is the best up to the stop, not over the whole "
                    "list"),
    _stopping_check("ties", "a score equal to the best so far is not an improvement",
                    "an epoch improves only when it beats the best so far; an equal score keeps the "
                    "earlier epoch as the best and keeps counting towards patience"),
    _stopping_check("delta", "with min_delta, a gain no larger than min_delta is not an improvement",
                    "min_delta is the smallest gain that counts (a gain within the noise should not "
                    "reset patience): compare each score with the best so far plus min_delta"),
    _stopping_check("end", "a curve that never stalls for patience epochs trains to the last epoch",
                    "when patience never runs out, training ends after the last score: that is the "
                    "stop epoch, and the best epoch is the best one seen"),
    _stopping_check("walks", "and on four longer made-up curves with patience 1, 3, 4 and 6",
                    "use the patience and min_delta you are given, not the notebook's values"),
])


# --- 13.3 an L2 penalty, and what weight decay is -------------------------------------------------

STRENGTHS = (0.1, 0.03)


def _linear_model() -> nn.Module:
    with seeded(1331):
        return nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))


def _conv_model() -> nn.Module:
    with seeded(1332):
        return nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 4 * 4, 3))


MODELS = {"linear": _linear_model, "conv": _conv_model}


def _batch(name: str) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(1333)
    images = torch.randn((8, 6) if name == "linear" else (8, 1, 6, 6), generator=generator)
    return images, torch.randint(0, 3, (8,), generator=generator)


def _value(value: Any) -> Any:
    """A returned penalty as a float (a one-element tensor too); else its repr."""
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return float(value.detach().item())
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    return repr(value)[:100]


def _penalty_values(ns: Mapping[str, Any]) -> list[Any]:
    return [_value(ns["l2_penalty"](make(), strength))
            for make in MODELS.values() for strength in STRENGTHS]


def _expected_values() -> list[float]:
    return [strength / 2 * sum((p.detach().double() ** 2).sum().item() for p in make().parameters())
            for make in MODELS.values() for strength in STRENGTHS]


def _judge_values(data: Any) -> bool:
    expected = _expected_values()
    return (isinstance(data, list) and len(data) == len(expected)
            and all(isinstance(v, float) and math.isclose(v, e, rel_tol=1e-5)
                    for v, e in zip(data, expected, strict=True)))


def _penalty_gradients(ns: Mapping[str, Any]) -> list[Any]:
    """The gradient the penalty alone gives each parameter (None where none reached it)."""
    model = _conv_model()
    penalty = ns["l2_penalty"](model, STRENGTHS[0])
    penalty.backward()
    return [None if p.grad is None else plain_tensor(p.grad) for p in model.parameters()]


def _judge_gradients(data: Any) -> bool:
    params = list(_conv_model().parameters())
    return (isinstance(data, list) and len(data) == len(params)
            and all(isinstance(g, torch.Tensor) and g.shape == p.shape
                    and torch.allclose(g.float(), STRENGTHS[0] * p.detach(), atol=1e-6)
                    for g, p in zip(data, params, strict=True)))


def _sgd_step(model: nn.Module, name: str, strength: float, penalty=None) -> list[torch.Tensor]:
    """The parameters after one SGD step (lr 0.5) on the cross-entropy of the model's batch, plus
    ``penalty(model, strength)`` if given, else with SGD's own ``weight_decay=strength``."""
    decay = 0.0 if penalty is not None else strength
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5, weight_decay=decay)
    images, labels = _batch(name)
    loss = F.cross_entropy(model(images), labels)
    if penalty is not None:
        loss = loss + penalty(model, strength)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return [plain_tensor(p) for p in model.parameters()]


def _step_probe(ns: Mapping[str, Any]) -> list[list[torch.Tensor]]:
    return [_sgd_step(make(), name, STRENGTHS[1], ns["l2_penalty"]) for name, make in MODELS.items()]


def _judge_step(data: Any) -> bool:
    expected = [_sgd_step(make(), name, STRENGTHS[1]) for name, make in MODELS.items()]
    return (isinstance(data, list) and len(data) == len(expected)
            and all(len(got) == len(want) and all(
                isinstance(g, torch.Tensor) and g.shape == w.shape and torch.allclose(g, w, atol=1e-6)
                for g, w in zip(got, want, strict=True)) for got, want in zip(data, expected, strict=True)))


exercise("13.3", "an L2 penalty", needs=["l2_penalty"], checks=[
    Check("l2_penalty(model, strength) is half the strength times the sum of the squares of every "
          "parameter, biases included (two networks, two strengths)",
          _penalty_values, judge=_judge_values, points=2,
          hint="go through model.parameters(), every one of them, add up the squares of all their "
               "values, and multiply the total by half the strength (a sum, not a mean)"),
    Check("the penalty is a tensor that gradients flow through: alone, it gives each parameter the "
          "gradient strength times that parameter",
          _penalty_gradients, judge=_judge_gradients,
          hint="build the penalty from the parameters with tensor operations and return the tensor: "
               "a Python number (.item()) or a detached tensor gives the optimizer nothing to follow"),
    Check("one SGD step on a loss plus the penalty is exactly one step of SGD with "
          "weight_decay=strength",
          _step_probe, judge=_judge_step,
          hint="SGD's weight_decay adds strength times each parameter to its gradient; the factor "
               "one half in the penalty is what makes its gradient exactly that"),
])
