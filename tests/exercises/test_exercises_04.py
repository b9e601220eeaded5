"""Notebook 04's exercise checks on answers written here: right answers written differently from
the notebook's solutions pass every check, plausible wrong ones fail the checks named.

Checks of 04.1 and 04.2: [over the parameters given, the optimizer and its settings, the steps it
takes]. Checks of 04.3: [the file's contents, what resume gives back, the step after resuming].
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from exercise_answers import verdicts
from torch import optim

from fmnist_helpers import Network

NOTEBOOK_NETWORK = Network()  # stands for the notebook's own network, which answers must not use


# -- 04.1 and 04.2: a function that builds the optimizer ------------------------------------------

@pytest.mark.parametrize("make_sgd", [
    lambda parameters: optim.SGD(parameters, 0.1),
    lambda parameters: optim.SGD([{"params": list(parameters)}], lr=1e-1, momentum=0.0, dampening=0),
], ids=["positional lr", "one parameter group"])
def test_04_1_right_answers_pass(make_sgd):
    assert verdicts("04.1", {"make_sgd": make_sgd}) == [True, True, True]


PREBUILT_SGD = optim.SGD(Network().parameters(), lr=0.1)


@pytest.mark.parametrize(("make_sgd", "expected"), [
    (lambda parameters: optim.Adam(parameters, lr=0.1), [True, False, False]),
    (lambda parameters: optim.SGD(parameters, lr=0.1, momentum=0.9), [True, False, False]),
    (lambda parameters: optim.SGD(parameters, lr=0.01), [True, False, False]),
    (lambda parameters: optim.SGD(NOTEBOOK_NETWORK.parameters(), lr=0.1), [False, True, False]),
    (lambda parameters: PREBUILT_SGD, [False, True, False]),
], ids=["Adam kept", "with momentum", "another learning rate", "the notebook's network",
        "hard-coded: an optimizer built once"])
def test_04_1_wrong_answers_fail(make_sgd, expected):
    assert verdicts("04.1", {"make_sgd": make_sgd}) == expected


def test_04_1_typed_results_are_no_answer():
    """The instructor's printed numbers, typed in: the exercise asks for a function now."""
    assert verdicts("04.1", {"sgd_loss": 2.225, "sgd_accuracy": 0.393}) == [False, False, False]


@pytest.mark.parametrize("make_big_lr_adam", [
    lambda parameters: optim.Adam(parameters, lr=1),
    lambda parameters: torch.optim.Adam(params=parameters, lr=1.0, betas=(0.9, 0.999)),
], ids=["integer lr", "keywords and default betas"])
def test_04_2_right_answers_pass(make_big_lr_adam):
    assert verdicts("04.2", {"make_big_lr_adam": make_big_lr_adam}) == [True, True, True]


@pytest.mark.parametrize(("make_big_lr_adam", "expected"), [
    (lambda parameters: optim.SGD(parameters, lr=10), [True, False, False]),  # issue 16
    (lambda parameters: optim.Adam(parameters, lr=0.01), [True, False, False]),
    (lambda parameters: optim.Adam(parameters, lr=1.0, amsgrad=True), [True, False, False]),
    (lambda parameters: optim.Adam(NOTEBOOK_NETWORK.parameters(), lr=1.0), [False, True, False]),
], ids=["SGD at lr=10", "the learning rate unchanged", "another variant of Adam",
        "the notebook's network"])
def test_04_2_wrong_answers_fail(make_big_lr_adam, expected):
    assert verdicts("04.2", {"make_big_lr_adam": make_big_lr_adam}) == expected


# -- 04.3: saving and resuming ------------------------------------------------------------------

def save_everything(path, network, optimizer, epoch):
    torch.save(dict(optimizer=optimizer.state_dict(), model=network.state_dict(), epoch=epoch,
                    note="written by a test"), str(path))


def resume_on_cpu(path):
    saved = torch.load(Path(path), map_location="cpu")
    network = Network()
    network.load_state_dict(saved["model"])
    optimizer = optim.Adam(network.parameters(), lr=0.5)  # the checkpoint's lr replaces this one
    optimizer.load_state_dict(saved["optimizer"])
    return network, optimizer, saved["epoch"]


def save_network_only(path, network, optimizer, epoch):
    torch.save({"epoch": epoch, "model": network.state_dict()}, path)


def save_fresh_optimizer(path, network, optimizer, epoch):
    torch.save({"epoch": epoch, "model": network.state_dict(),
                "optimizer": optim.Adam(network.parameters(), lr=0.01).state_dict()}, path)


def save_whole_objects(path, network, optimizer, epoch):
    torch.save({"epoch": epoch, "model": network, "optimizer": optimizer}, path)


def resume_whole_objects(path):
    saved = torch.load(path, weights_only=False)
    return saved["model"], saved["optimizer"], saved["epoch"]


def resume_with_a_fresh_adam(path):
    saved = torch.load(path)
    network = Network()
    network.load_state_dict(saved["model"])
    return network, optim.Adam(network.parameters(), lr=0.01), saved["epoch"]


NOTEBOOK_OPTIMIZER = optim.Adam(NOTEBOOK_NETWORK.parameters(), lr=0.01)


def resume_the_notebooks_objects(path):
    return NOTEBOOK_NETWORK, NOTEBOOK_OPTIMIZER, 3


def test_04_3_right_answer_passes():
    answer = {"save_checkpoint": save_everything, "resume": resume_on_cpu}
    assert verdicts("04.3", answer) == [True, True, True]


@pytest.mark.parametrize(("save", "resume", "expected"), [
    (save_network_only, resume_with_a_fresh_adam, [False, True, False]),
    (save_everything, resume_with_a_fresh_adam, [True, True, False]),
    (save_fresh_optimizer, resume_on_cpu, [False, True, False]),
    (save_whole_objects, resume_whole_objects, [False, True, True]),
    (save_everything, resume_the_notebooks_objects, [True, False, False]),
], ids=["the network alone", "optimizer state saved, not loaded", "a new optimizer's state saved",
        "whole objects pickled", "hard-coded: the notebook's objects"])
def test_04_3_wrong_answers_fail(save, resume, expected):
    assert verdicts("04.3", {"save_checkpoint": save, "resume": resume}) == expected


def test_the_checks_leave_the_notebooks_random_state_alone():
    """The checks seed their own networks; a student's next random draw is the one it would have been."""
    state = torch.random.get_rng_state()
    verdicts("04.1", {"make_sgd": lambda parameters: optim.SGD(parameters, lr=0.1)})
    assert torch.equal(torch.random.get_rng_state(), state)
