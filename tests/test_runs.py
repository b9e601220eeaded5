"""``RunBuilder`` and ``RunManager``, read back through TensorBoard's ``EventAccumulator``."""

from __future__ import annotations

import json
from collections import OrderedDict

import pandas as pd
import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from fmnist_helpers import Network, TensorBatches, evaluate, train_one_epoch
from fmnist_helpers.runs import RunBuilder, RunManager, run_name


def test_get_runs_is_the_product_in_order():
    runs = RunBuilder.get_runs(OrderedDict(lr=[0.01, 0.001], batch_size=[100, 1000], shuffle=[True]))
    assert len(runs) == 4
    assert runs[0] == (0.01, 100, True) and runs[-1] == (0.001, 1000, True)
    assert runs[1].batch_size == 1000 and runs[1]._fields == ("lr", "batch_size", "shuffle")
    assert run_name(runs[0]) == "lr=0.01,batch_size=100,shuffle=True"


@pytest.mark.parametrize("bad", [{"lr": 0.01}, {"lr": []}, {"lr": "0.01"}])
def test_get_runs_refuses_non_lists(bad):
    with pytest.raises(ValueError, match="params\\['lr'\\]"):
        RunBuilder.get_runs(bad)


def _sweep(tmp_path, epochs=2):
    """Two short runs trained by the course's loop, tracked through ``on_batch=manager.track_batch``."""
    torch.manual_seed(0)
    images, labels = torch.rand(200, 1, 28, 28), torch.randint(0, 10, (200,))
    validation = TensorBatches(images[:60], labels[:60], 30)
    manager = RunManager(tmp_path, live=False, log_graph=True)
    for run in RunBuilder.get_runs({"lr": [0.01, 0.001], "batch_size": [50]}):
        network = Network()
        optimizer = torch.optim.Adam(network.parameters(), lr=run.lr)
        loader = TensorBatches(images, labels, run.batch_size)
        manager.begin_run(run, network, images[:16])
        for _ in range(epochs):
            manager.begin_epoch()
            train_one_epoch(network, loader, optimizer, on_batch=manager.track_batch)
            manager.end_epoch(validation_accuracy=evaluate(network, validation).accuracy)
        manager.end_run()
    return manager


def test_manager_tracks_every_epoch_and_saves(tmp_path):
    manager = _sweep(tmp_path)
    frame = manager.results_frame()
    assert frame[["run", "epoch"]].values.tolist() == [[1, 1], [1, 2], [2, 1], [2, 2]]
    assert frame["lr"].tolist() == [0.01, 0.01, 0.001, 0.001]
    assert ((frame["accuracy"] >= 0) & (frame["accuracy"] <= 1)).all()
    assert (frame["epoch_duration"] > 0).all() and (frame["run_duration"] >= frame["epoch_duration"]).all()
    assert frame["validation_accuracy"].between(0, 1).all()
    saved = pd.read_csv(tmp_path / "results.csv")
    assert len(saved) == 4 and list(saved.columns) == list(frame.columns)
    assert len(json.loads((tmp_path / "results.json").read_text())) == 4


def test_accuracy_is_correct_over_samples(tmp_path):
    manager = RunManager(tmp_path, live=False, log_histograms=False)
    run = RunBuilder.get_runs({"lr": [0.1]})[0]
    manager.begin_run(run, Network())
    manager.begin_epoch()
    manager.track_loss(torch.tensor(2.0), 3)
    manager.track_loss(torch.tensor(1.0), 1)
    manager.track_num_correct(torch.eye(4), torch.tensor([0, 1, 0, 0]))
    row = manager.end_epoch()
    manager.end_run()
    assert row["loss"] == pytest.approx(7 / 4)
    assert row["accuracy"] == pytest.approx(2 / 4)


def test_results_survive_an_interrupted_sweep(tmp_path):
    manager = RunManager(tmp_path, live=False, log_histograms=False)
    manager.begin_run(RunBuilder.get_runs({"lr": [0.1]})[0], Network())
    manager.begin_epoch()
    manager.track_loss(torch.tensor(1.0), 1)
    manager.end_epoch()
    # the run never ends (as if interrupted): the finished epoch is on disk already
    assert len(pd.read_csv(tmp_path / "results.csv")) == 1


def test_event_files_read_back(tmp_path):
    manager = _sweep(tmp_path)
    run_dir = tmp_path / "01-lr=0.01,batch_size=50"
    assert run_dir.is_dir()
    events = EventAccumulator(str(run_dir), size_guidance={"histograms": 0, "scalars": 0})
    events.Reload()
    tags = events.Tags()
    assert {"Loss", "Accuracy", "Number Correct", "validation_accuracy"} <= set(tags["scalars"])
    # end_run's add_hparams: the run's last validation accuracy is a metric of the HParams tab
    assert {"hparam/loss", "hparam/accuracy", "hparam/validation_accuracy"} <= set(tags["scalars"])
    (recorded,) = events.Scalars("hparam/validation_accuracy")
    assert recorded.value == pytest.approx(manager.results[1]["validation_accuracy"], rel=1e-6)
    assert "conv1.weight" in tags["histograms"] and "conv1.weight.grad" in tags["histograms"]
    assert tags["images"] == ["images"]
    assert tags["graph"] is True
    losses = events.Scalars("Loss")
    assert [e.step for e in losses] == [1, 2]
    assert losses[0].value == pytest.approx(manager.results[0]["loss"], rel=1e-6)
    hparams = EventAccumulator(str(run_dir))
    hparams.Reload()
    assert "_hparams_/session_start_info" in hparams.summary_metadata


def test_track_batch_is_track_loss_plus_track_num_correct(tmp_path):
    """``track_batch`` has ``on_batch``'s signature and tallies what the two calls would."""
    torch.manual_seed(0)
    batches = [(torch.randn(size, 10), torch.randint(0, 10, (size,)), torch.rand(())) for size in (5, 3)]
    rows = []
    for use_track_batch in (True, False):
        manager = RunManager(tmp_path / str(use_track_batch), live=False, log_histograms=False)
        manager.begin_run(RunBuilder.get_runs({"lr": [0.1]})[0], Network())
        manager.begin_epoch()
        for preds, labels, loss in batches:
            if use_track_batch:
                manager.track_batch(preds, labels, loss)
            else:
                manager.track_loss(loss, len(labels))
                manager.track_num_correct(preds, labels)
        rows.append(manager.end_epoch())
        manager.end_run()
    with_hook, by_hand = rows
    assert with_hook["loss"] == pytest.approx(by_hand["loss"])
    assert with_hook["accuracy"] == by_hand["accuracy"]
    expected_loss = (batches[0][2].item() * 5 + batches[1][2].item() * 3) / 8
    assert with_hook["loss"] == pytest.approx(expected_loss)
    correct = sum(int((p.argmax(dim=1) == y).sum()) for p, y, _ in batches)
    assert with_hook["accuracy"] == pytest.approx(correct / 8)
