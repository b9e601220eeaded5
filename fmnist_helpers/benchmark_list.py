"""Rows of Fashion-MNIST's benchmark list that notebook 12 and the README compare the capstone with.

The list is the table of submitted test accuracies in the README of
https://github.com/zalandoresearch/fashion-mnist (section *Benchmark*; its maintainers note they
have not verified them). ``SMALL_CNN_ROWS`` copies every row whose network has two to five
convolutional layers and nothing else (no residual or dense connections), with the classifier,
preprocessing and accuracy as the list states them, as of the README at commit ``789103dd``.
"""

from __future__ import annotations

from typing import Any

BENCHMARK_LIST_URL = "https://github.com/zalandoresearch/fashion-mnist#benchmark"
HUMAN_PERFORMANCE = 0.835  # the list's "Human Performance" row: crowd-sourced, 1000 test images

SMALL_CNN_ROWS: tuple[tuple[str, int, str, str, float], ...] = (
    # (classifier as listed, conv layers, parameters as listed, preprocessing as listed, test accuracy)
    ("2 Conv+pooling", 2, "", "None", 0.876),
    ("2 Conv+pooling (TensorFlow's doc)", 2, "", "None", 0.916),
    ("2 Conv+pooling+ELU activation (PyTorch)", 2, "", "None", 0.903),
    ("2 Conv", 2, "", "Normalization, random horizontal flip, random vertical flip, random translation, "
     "random rotation", 0.919),
    ("2 Conv <100K parameters", 2, "<100K", "None", 0.925),
    ("2 Conv ~113K parameters", 2, "~113K", "Normalization", 0.922),
    ("2 Conv+3 FC ~1.8M parameters", 2, "~1.8M", "Normalization", 0.932),
    ("2 Conv+3 FC ~500K parameters", 2, "~500K", "Augmentation, batch normalization", 0.934),
    ("2 Conv+pooling+BN", 2, "", "None", 0.934),
    ("2 Conv+2 FC", 2, "", "Random Horizontal Flips", 0.939),
    ("3 Conv+2 FC", 3, "", "None", 0.907),
    ("3 Conv+pooling+BN", 3, "", "None", 0.903),
    ("3 Conv+pooling+2 FC+dropout", 3, "", "None", 0.926),
    ("3 Conv+BN+pooling", 3, "", "None", 0.921),
    ("5 Conv+BN+pooling", 5, "", "None", 0.931),
)


def small_cnn_rows() -> list[dict[str, Any]]:
    """``SMALL_CNN_ROWS`` as records with the columns notebook 12's comparison table shows.

    >>> rows = small_cnn_rows()
    >>> len(rows), min(r["test accuracy"] for r in rows), max(r["test accuracy"] for r in rows)
    (15, 0.876, 0.939)
    """
    return [{"classifier": name, "conv layers": convs, "parameters": parameters,
             "training extras": preprocessing, "test accuracy": accuracy}
            for name, convs, parameters, preprocessing, accuracy in SMALL_CNN_ROWS]


def accuracy_range() -> tuple[float, float]:
    """The lowest and highest test accuracy of ``SMALL_CNN_ROWS`` (the README quotes them)."""
    accuracies = [row[-1] for row in SMALL_CNN_ROWS]
    return min(accuracies), max(accuracies)
