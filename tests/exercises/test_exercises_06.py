"""Notebook 06's exercise checks on answers written here: right answers written differently from
the notebook's solutions pass every check, plausible wrong ones fail the checks named.

Checks of 06.1: [Batch Loss's last 10, another tag and count]. 06.2: [tag and step, a drawn
figure, drawn from the arguments]. 06.3: [the five tags, the gradients' norms, the step given].
"""

from __future__ import annotations

import itertools

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from exercise_answers import verdicts
from sklearn.metrics import ConfusionMatrixDisplay, confusion_matrix
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator


def scalar_values(run_dir, tag):
    run = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
    run.Reload()
    return [event.value for event in sorted(run.Scalars(tag), key=lambda event: event.step)]


def last_by_steps(run_dir, tag, count=10):
    return sum(scalar_values(run_dir, tag)[-count:]) / count


def first_values(run_dir, tag, count=10):
    return float(np.mean(scalar_values(run_dir, tag)[:count]))


def all_values(run_dir, tag, count=10):
    return float(np.mean(scalar_values(run_dir, tag)))


def test_06_1_right_answer_passes():
    assert verdicts("06.1", {"mean_of_last": last_by_steps}) == [True, True]


@pytest.mark.parametrize(("answer", "expected"), [
    (first_values, [False, False]),
    (all_values, [False, False]),
    (lambda run_dir, tag, count=10: last_by_steps(run_dir, "Batch Loss", 10), [True, False]),
    (lambda run_dir, tag, count=10: 0.877, [False, False]),
], ids=["the first values", "all values", "tag and count ignored", "hard-coded mean"])
def test_06_1_wrong_answers_fail(answer, expected):
    assert verdicts("06.1", {"mean_of_last": answer}) == expected


def from_predictions(writer, labels, predicted, step):
    display = ConfusionMatrixDisplay.from_predictions(labels, predicted, include_values=False)
    writer.add_figure(tag="confusion matrix", figure=display.figure_, global_step=step)


def matrix_as_pixels(writer, labels, predicted, step):
    matrix = torch.tensor(confusion_matrix(labels, predicted, labels=range(10), normalize="true"))
    writer.add_image("confusion matrix", matrix, step, dataformats="HW")


def imshow_figure(labels, predicted):
    fig = plt.figure(figsize=(3, 3))
    plt.imshow(confusion_matrix(labels, predicted, labels=range(10)))
    return fig


_rng = np.random.default_rng(0)
NOTEBOOK_TEST_SET = (_rng.integers(0, 10, 1000), _rng.integers(0, 10, 1000))


def the_notebooks_test_set(writer, labels, predicted, step):
    writer.add_figure("confusion matrix", imshow_figure(*NOTEBOOK_TEST_SET), step)


def step_forgotten(writer, labels, predicted, step):
    writer.add_figure("confusion matrix", imshow_figure(labels, predicted))


def test_06_2_right_answer_passes():
    assert verdicts("06.2", {"log_confusion_figure": from_predictions}) == [True, True, True]


@pytest.mark.parametrize(("answer", "expected"), [
    (matrix_as_pixels, [True, False, True]),
    (the_notebooks_test_set, [True, True, False]),
    (step_forgotten, [False, True, True]),
], ids=["the matrix as pixels", "hard-coded: the notebook's test set", "step forgotten"])
def test_06_2_wrong_answers_fail(answer, expected):
    assert verdicts("06.2", {"log_confusion_figure": answer}) == expected


def by_layer(run_writer, net, step_number):
    for layer in ("conv1", "conv2", "fc1", "fc2", "out"):
        gradient = getattr(net, layer).weight.grad
        run_writer.add_scalar(f"grad norm/{layer}.weight", torch.linalg.vector_norm(gradient), step_number)


def weight_norms(run_writer, net, step_number):
    for name, param in net.named_parameters():
        if name.endswith("weight"):
            run_writer.add_scalar(f"grad norm/{name}", param.norm().item(), step_number)


def with_biases(run_writer, net, step_number):
    for name, param in net.named_parameters():
        run_writer.add_scalar(f"grad norm/{name}", param.grad.norm().item(), step_number)


OWN_STEPS = itertools.count(100)  # a step counter of its own, which never meets the check's


def own_counter(run_writer, net, step_number):
    step = next(OWN_STEPS)
    for name, param in net.named_parameters():
        if name.endswith("weight"):
            run_writer.add_scalar(f"grad norm/{name}", param.grad.norm().item(), step)


NOTEBOOK_MEANS = {"conv1.weight": 0.9609, "conv2.weight": 0.8758, "fc1.weight": 0.4580,
                  "fc2.weight": 0.7458, "out.weight": 1.8072}


def typed_means(run_writer, net, step_number):
    for name, value in NOTEBOOK_MEANS.items():
        run_writer.add_scalar(f"grad norm/{name}", value, step_number)


def test_06_3_right_answer_passes():
    assert verdicts("06.3", {"log_grad_norms": by_layer}) == [True, True, True]


@pytest.mark.parametrize(("answer", "expected"), [
    (weight_norms, [True, False, True]),
    (with_biases, [False, True, True]),
    (own_counter, [True, True, False]),
    (typed_means, [True, False, True]),
], ids=["the weights' norms", "biases too", "a counter of its own", "hard-coded: the notebook's means"])
def test_06_3_wrong_answers_fail(answer, expected):
    assert verdicts("06.3", {"log_grad_norms": answer}) == expected
