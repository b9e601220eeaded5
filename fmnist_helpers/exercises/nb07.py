"""Checks for the exercises of notebook 07 (hyperparameter runs).

The sweep's numbers depend on the grid, the epochs and ``max_batches``, so the checks compare an
answer with the notebook's own results (``results.csv``) or test properties of it; nothing here
holds an expected number.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from .engine import Check, between, exercise


def _final_epochs(ns: Mapping[str, Any]) -> pd.DataFrame:
    """Each run's last epoch, read from the sweep's ``results.csv``."""
    saved = pd.read_csv(Path(ns["log_root"]) / "results.csv")
    return saved.sort_values(["run", "epoch"]).groupby("run").tail(1)


def _pivot_shape(ns: Mapping[str, Any]) -> bool:
    pivot, final = ns["pivot"], _final_epochs(ns)
    return (isinstance(pivot, pd.DataFrame)
            and sorted(pivot.index) == sorted(final["lr"].unique())
            and sorted(pivot.columns) == sorted(final["batch_size"].unique()))


def _pivot_values(ns: Mapping[str, Any]) -> bool:
    pivot = ns["pivot"]
    means = _final_epochs(ns).groupby(["lr", "batch_size"])["validation_accuracy"].mean()
    return all(abs(float(pivot.loc[lr, size]) - mean) < 1e-9 for (lr, size), mean in means.items())


exercise("07.1", "a pivot table", needs=["pivot"], checks=[
    Check("`pivot` has one row per learning rate and one column per batch size of the sweep",
          _pivot_shape,
          "Make `pivot` a DataFrame whose index holds the learning rates and whose columns hold the "
          "batch sizes (`DataFrame.pivot_table` takes `index=` and `columns=`)."),
    Check("each cell is the mean final validation accuracy of that learning rate and batch size",
          _pivot_values,
          "Keep only each run's last epoch, and average its `validation_accuracy` over the shuffled "
          "and the fixed-order run."),
])


def _seed_columns(ns: Mapping[str, Any]) -> bool:
    frame = ns["seed_results"]
    return isinstance(frame, pd.DataFrame) and {"seed", "shuffle", "validation_accuracy"} <= set(frame)


def _seed_grid(ns: Mapping[str, Any]) -> bool:
    frame = ns["seed_results"]
    pairs = frame.groupby("seed")["shuffle"].agg(lambda values: set(map(bool, values)))
    return len(pairs) >= 3 and all(value == {True, False} for value in pairs)


def _seed_accuracies(ns: Mapping[str, Any]) -> bool:
    return all(between(float(value), 0.0, 1.0) for value in ns["seed_results"]["validation_accuracy"])


def _seeds_matter(ns: Mapping[str, Any]) -> bool:
    frame = ns["seed_results"]
    return all(group.nunique() > 1 for _, group in frame.groupby("shuffle")["validation_accuracy"])


exercise("07.2", "is the shuffle difference real?", needs=["seed_results"], checks=[
    Check("`seed_results` is a DataFrame with the columns seed, shuffle and validation_accuracy",
          _seed_columns,
          "Collect one dict per run (its fields and its validation accuracy) and make a DataFrame "
          "of them; `run._asdict()` gives the fields."),
    Check("three seeds or more, each run shuffled and in fixed order", _seed_grid,
          "Put `seed` and `shuffle` in the grid you give `RunBuilder.get_runs`, with at least three "
          "seeds and both shuffle values."),
    Check("every validation accuracy is a fraction between 0 and 1", _seed_accuracies,
          "Store the accuracy (`evaluation.accuracy`), not the number of correct images."),
    Check("the seed changes the result: the same shuffle setting gives different accuracies",
          _seeds_matter,
          "Every run seems to have started from the same seed: seed each run with its own "
          "`run.seed` (`short_run` does when the run has a `seed` field)."),
])


def _sorted_rows(ns: Mapping[str, Any]) -> dict[bool, pd.Series]:
    frame = ns["sorted_results"]
    return {bool(row["shuffle"]): row for _, row in frame.iterrows()}


def _sorted_columns(ns: Mapping[str, Any]) -> bool:
    frame = ns["sorted_results"]
    return ({"shuffle", "validation_accuracy", "classes_predicted"} <= set(frame)
            and set(_sorted_rows(ns)) == {True, False} and len(frame) == 2)


def _fewer_classes(ns: Mapping[str, Any]) -> bool:
    rows = _sorted_rows(ns)
    return int(rows[False]["classes_predicted"]) < int(rows[True]["classes_predicted"])


def _near_chance(ns: Mapping[str, Any]) -> bool:
    return between(float(_sorted_rows(ns)[False]["validation_accuracy"]), 0.0, 0.3)


def _shuffled_learns(ns: Mapping[str, Any]) -> bool:
    rows = _sorted_rows(ns)
    return (float(rows[True]["validation_accuracy"])
            >= float(rows[False]["validation_accuracy"]) + 0.1)


exercise("07.3", "sorted data", needs=["sorted_results"], checks=[
    Check("`sorted_results` has one row shuffled and one in fixed order, with the three columns",
          _sorted_columns,
          "Make a DataFrame with two rows (shuffle True and False) and the columns shuffle, "
          "validation_accuracy and classes_predicted."),
    Check("the fixed-order run predicts fewer different classes than the shuffled run",
          _fewer_classes,
          "Count the different predicted classes: the predictions' `argmax(dim=1)`, then "
          "`.unique().numel()`; train both runs on `sorted_images` and `sorted_labels`."),
    Check("the fixed-order run ends near chance on the validation images", _near_chance,
          "The fixed-order run should see the images sorted by label: pass `sorted_images` and "
          "`sorted_labels` to `short_run` with `shuffle=False`."),
    Check("the shuffled run does clearly better than the fixed-order one", _shuffled_learns,
          "Train the shuffled run on the same sorted images, with `shuffle=True` and the same number "
          "of batches (`sorted_batches`)."),
])
