"""What was measured: the files in ``results/`` (committed) and the tables made from them.

``fmnist-course refresh`` records each re-executed notebook here (``record_notebook``), ``fmnist-course
readme`` records a quick run and a seeds sweep and rewrites the README's tables, and the website's
results page renders the same tables (``update_readme`` on the page). The files:

- ``notebooks.json``: written by ``fmnist-course refresh`` as it re-executes the committed
  notebooks: each notebook's seconds and its ``metrics.json`` (so every number comes from the
  outputs that are committed with it);
- ``quick.json``: each notebook's seconds in a ``--preset quick`` run (``fmnist-course readme
  --quick-report runs/<stamp>/report.json`` records it);
- ``epoch_time.json``: ``make bench``;
- ``gpu_09_metrics.json``: notebook 09's ``metrics.json`` from a machine with a GPU;
- ``gpu_reported.json``: GPU figures measured elsewhere and reported (with where, when and for
  which version of the notebook), quoted as such;
- ``capstone_search.json`` (and ``.csv``): the search behind notebook 12's final epochs and
  learning rate (``make search``, ``benchmarks/capstone_search.py``).

``update_readme`` rewrites the blocks between ``<!-- results:NAME -->`` and ``<!-- /results:NAME -->``
in ``README.md`` (or in another Markdown file); with ``check`` it only says whether they are up to date.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..benchmark_list import BENCHMARK_LIST_URL, HUMAN_PERFORMANCE, SMALL_CNN_ROWS, accuracy_range
from ..paths import course_dir
from .catalog import CourseError, discover_notebooks

Metrics = Mapping[str, Any]


def results_dir() -> Path:
    """``results/`` in the course folder."""
    return course_dir() / "results"


def load_results(name: str) -> dict[str, Any]:
    """``results/<name>.json`` (an empty dict when it does not exist yet)."""
    path = results_dir() / f"{name}.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def record_notebook(stem: str, seconds: float, metrics: Metrics) -> None:
    """Store one refreshed notebook's seconds and metrics in ``results/notebooks.json``."""
    results = load_results("notebooks")
    results[stem] = {"seconds": seconds, "metrics": dict(metrics)}
    write_results("notebooks", dict(sorted(results.items())))


def write_results(name: str, data: Mapping[str, Any]) -> None:
    """Replace ``results/<name>.json`` with ``data``."""
    results_dir().mkdir(exist_ok=True)
    (results_dir() / f"{name}.json").write_text(json.dumps(data, indent=1, default=str) + "\n")


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


RESULT_SENTENCES: dict[str, Callable[[Metrics], str]] = {
    "01": lambda m: f"{m['train_size']} / {m['test_size']} images, "
                    f"{m['class_counts'][0]} per class",
    "02": lambda m: f"{m['parameter_count']:,} parameters, inline `Network` = package `Network`",
    "03": lambda m: f"untrained network: test accuracy {m['untrained_accuracy']:.4f} "
                    "(chance is 0.1)",
    "04": lambda m: f"**test accuracy {m['test_accuracy']:.4f}** after {m['epochs']} epochs, "
                    f"{_mean(m['seconds_per_epoch']):.1f} s per epoch",
    "05": lambda m: f"test {m['test_accuracy']:.4f} (04's weights), train {m['train_accuracy']:.4f}",
    "06": lambda m: f"test accuracy {m['test_accuracy']:.4f} after {m['epochs_run']} epochs; "
                    "scalars, histograms, images and graph logged",
    "07": lambda m: f"{m['num_runs']} runs; best on validation {m['best_validation_accuracy']:.4f}"
                    f", its test accuracy {m['test_accuracy']:.4f}",
    "08": lambda m: f"in-memory path {m['in_memory_speedup']:.2f}× faster than per-item "
                    f"`ToTensor()`, {m['in_memory_over_floor']:.2f}× the compute floor",
    "09": lambda m: f"device {m['device']}" + (f" ({m['gpu_name']})" if m.get("gpu_name") else ""),
    "10": lambda m: "three `Sequential` builds: outputs `allclose` "
                    f"{'yes' if all(m['allclose'].values()) else 'NO'}",
    "11": lambda m: f"**batch norm test accuracy {m['bn_test_accuracy']:.4f}**",
    "12": lambda m: f"**test accuracy {m['test_accuracy']:.4f}** with "
                    f"{m['parameter_count']:,} parameters after {m['epochs']} epochs, "
                    f"{m['training_minutes']:.1f} minutes of training ({_mean(m['seconds_per_epoch']):.1f} s "
                    f"per epoch); validation {m['final_validation_accuracy']:.4f} before retraining on all "
                    f"{m['final_train_images']:,} images",
    "13": lambda m: f"**{m['chosen']}** chosen on validation over {len(m['run_seeds'])} seeds: "
                    f"test accuracy {m['test_accuracy']:.4f} ± {m['test_accuracy_sd']:.4f}",
    "14": lambda m: f"photo-like test images: {m['naive_accuracy']:.3f} resized, "
                    f"**{m['preprocessed_accuracy']:.3f} preprocessed**; exported model "
                    f"{'identical' if all(m['fresh_process_same_classes'].values()) else 'DIFFERENT'} "
                    "in a fresh process",
}
"""The README's one-line result of each notebook, from its metrics."""


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def _minutes(seconds: float) -> str:
    return f"{int(seconds // 60)} min {round(seconds % 60):02d} s"


def notebooks_table(notebooks: Mapping[str, Any], quick: Mapping[str, Any]) -> str:
    """The README's table: each notebook's full and quick seconds and its result."""
    quick_seconds = quick.get("seconds", {})
    lines = ["| notebook | full (s) | quick (s) | result with default parameters |",
             "|---|---:|---:|---|"]
    for path in discover_notebooks(course_dir() / "notebooks"):
        entry = notebooks.get(path.stem)
        if entry is None:
            raise CourseError(f"results/notebooks.json has no {path.stem}: run "
                              f"`fmnist-course refresh --only {path.stem[:2]}`")
        sentence = RESULT_SENTENCES[path.stem[:2]](entry["metrics"])
        name = path.stem[3:].replace("_", " ")
        lines.append(f"| {path.stem[:2]} {name} | {_seconds(entry['seconds'])} | "
                     f"{_seconds(quick_seconds.get(path.stem))} | {sentence} |")
    full = sum(e["seconds"] for e in notebooks.values())
    quick_total = sum(quick_seconds.values())
    lines.append(f"| **all notebooks** | **{_minutes(full)}** | "
                 f"**{_minutes(quick_total) if quick_total else ''}** | |")
    return "\n".join(lines)


BENCH_ROWS = [("per_item_workers0", "per-item `ToTensor()` `DataLoader`, `num_workers=0`"),
              ("per_item_workers2", "per-item `ToTensor()` `DataLoader`, `num_workers=2`"),
              ("in_memory", "in-memory tensor, batches by indexing (`TensorBatches`)"),
              ("compute_floor", "compute floor (the same steps on batches made in advance)")]


def bench_table(bench: Mapping[str, Any]) -> str:
    """The README's ``make bench`` table: seconds per epoch and the ratio to the compute floor."""
    if not bench:
        raise CourseError("results/epoch_time.json is missing: run `make bench`")
    lines = ["| data path | s/epoch | ratio to the compute floor |", "|---|---:|---:|"]
    for key, label in BENCH_ROWS:
        entry = bench["configs"][key]
        lines.append(f"| {label} | {entry['seconds_per_epoch']:.2f} | {entry['ratio_to_floor']:.2f} |")
    inference = bench["inference"]
    lines.append(f"| inference on the 10000 test images (batch 1000) | "
                 f"{inference['seconds_for_test_set']:.2f} s | |")
    capstone = bench["capstone"]
    for threads, entry in capstone["threads"].items():
        lines.append(f"| notebook 12's CapstoneNet ({capstone['parameters']:,} parameters), augmented, "
                     f"in memory, {threads} thread{'s' if threads != '1' else ''} | "
                     f"{entry['seconds_per_epoch']:.2f} | |")
    return "\n".join(lines)


def search_table(search: Mapping[str, Any]) -> str:
    """The rows of notebook 12's search as a Markdown table, the chosen row in bold (the README
    and notebook 12 show the same table)."""
    if not search:
        raise CourseError("results/capstone_search.json is missing: run `make search`")
    lines = ["| epochs | peak lr | augmentation | seed | validation accuracy |", "|---:|---:|---|---:|---:|"]
    for row in search["rows"]:
        bold = "**" if row == search["chosen"] else ""
        lines.append(f"| {row['epochs']} | {row['lr']} | {'yes' if row['augment'] else 'no'} | {row['seed']} "
                     f"| {bold}{row['validation_accuracy']:.4f}{bold} |")
    return "\n".join(lines)


def search_choice(search: Mapping[str, Any]) -> str:
    """One sentence: the search's yardstick and its choice, from ``capstone_search.json``."""
    reference, chosen = search["reference_seeds"], search["chosen"]
    seeds = ", ".join(str(seed) for seed in search["provenance"]["parameters"]["seeds"])
    return (f"The reference setting over seeds {seeds}: "
            f"validation accuracy {reference['mean']:.4f} on average, standard deviation "
            f"{reference['sd']:.4f}, so a yardstick of {search['yardstick']:.4f}. Chosen: "
            f"**{chosen['epochs']} epochs at a peak learning rate of {chosen['lr']}, "
            f"{'with' if chosen['augment'] else 'without'} augmentation**, validation accuracy "
            f"{chosen['validation_accuracy']:.4f}.")


def search_block(search: Mapping[str, Any]) -> str:
    """The README's block on notebook 12's search: the table, then the yardstick and the choice."""
    return search_table(search) + "\n\n" + search_choice(search)


def published_block(notebooks: Mapping[str, Any]) -> str:
    """The benchmark list's figures for comparison, and where notebook 12's result places."""
    low, high = accuracy_range()
    lines = [f"Published Fashion-MNIST figures for comparison (the dataset's [benchmark list]"
             f"({BENCHMARK_LIST_URL}), shown in notebooks 05 and 12): human performance "
             f"{HUMAN_PERFORMANCE}; convolutional networks with two to five convolutional layers "
             f"{low:.3f}–{high:.3f} ({len(SMALL_CNN_ROWS)} rows)."]
    capstone = notebooks.get("12_accuracy_ladder", {}).get("metrics")
    if capstone:
        accuracy = capstone["test_accuracy"]
        below = sum(row[-1] < accuracy for row in SMALL_CNN_ROWS)
        best = max(SMALL_CNN_ROWS, key=lambda row: row[-1])
        lines.append(f"Notebook 12's CapstoneNet (five convolutional layers, {capstone['parameter_count']:,} "
                     f"parameters, {'flip TTA' if capstone['flip_tta'] else 'no test-time augmentation'}) "
                     f"reaches {accuracy:.4f}: above {below} of these {len(SMALL_CNN_ROWS)} rows; the best "
                     f"is {best[0]} ({best[3].lower()}), {best[-1]}.")
    return " ".join(lines)


TRAIN_IMAGES_BYTES = 60_000 * 28 * 28 * 4
"""What notebook 09 copies to the GPU and times: the training images as one float32 tensor."""


def gpu_table(metrics: Mapping[str, Any]) -> str:
    """Notebook 09's timings on a GPU machine: CPU and GPU, training and inference, copies."""
    if not metrics:
        raise CourseError("results/gpu_09_metrics.json is missing: run notebook 09 on a GPU machine")
    info = metrics["provenance"]
    lines = [f"Notebook 09 with `device=\"cuda\"` on {info['gpu']} ({info['cpu_count']} CPU cores, "
             f"torch {info['torch']}, {info['date'][:10]}), batches of {metrics['batch_size']}:", "",
             "| device | training ms/batch | inference ms/batch |", "|---|---:|---:|"]
    for device, timing in metrics["timings"].items():
        lines.append(f"| {device} | {1000 * timing['train_seconds'] / timing['train_batches']:.2f} | "
                     f"{1000 * timing['infer_seconds'] / timing['infer_batches']:.2f} |")
    copies = metrics["copy_to_cuda_seconds"]
    size_mb = TRAIN_IMAGES_BYTES / 1e6
    lines += ["", f"Copying the whole training set (60,000 images as float32, {size_mb:.0f} MB; notebook "
                  f"09 copies it at once, not batch by batch) to the GPU: "
                  f"{1000 * copies['pageable']:.1f} ms from pageable memory, "
                  f"{1000 * copies['pinned']:.1f} ms from pinned memory."]
    return "\n".join(lines)


def reported_gpu_sentences(reported: Mapping[str, Any]) -> str:
    """GPU figures measured elsewhere, quoted with their machine, their date and their source."""
    if not reported:
        return ""
    nb09, nb12 = reported["notebook_09"], reported["notebook_12"]
    return (f"Reported in {reported['source']}, measured on {reported['machine']} ({reported['when']}) "
            f"and not re-measured here: notebook 09 trained {nb09['train_batches']} batches in "
            f"{nb09['cuda_seconds']} s on CUDA against {nb09['cpu_seconds']} s on that machine's CPU, and "
            f"copied the training set in {nb09['copy_ms']['pageable']} ms from pageable and "
            f"{nb09['copy_ms']['pinned']} ms from pinned memory (timings on a shared machine vary from "
            f"run to run); notebook 12, with {nb12['recipe']}, ran in {nb12['seconds']} s with "
            f"{nb12['training_minutes']} minutes of training, test accuracy {nb12['test_accuracy']}.")


def machine_block(host: Mapping[str, Any], notebooks: Mapping[str, Any]) -> str:
    """Where and when the README's numbers were measured: the machine, and its reading of
    ``../shared/tools/host_speed.py`` on each day (``results/host.json``), which every day a
    notebook in ``notebooks.json`` was measured must have."""
    if not host:
        raise CourseError("results/host.json is missing: record the machine and its host_speed readings")
    days = {entry["metrics"]["measured_on"]["date"][:10] for entry in notebooks.values()
            if "measured_on" in entry.get("metrics", {})}
    recorded = {reading["date"] for reading in host["readings"]}
    if days - recorded:
        missing = ", ".join(sorted(days - recorded))
        raise CourseError(f"results/host.json has no host_speed reading for {missing}, when notebooks in "
                          "results/notebooks.json were measured")
    readings = []
    for reading in sorted(host["readings"], key=lambda r: r["date"]):
        speeds = reading["host_speed_s"]
        speed = f"{speeds[0]} s" if len(speeds) == 1 else f"{min(speeds)} to {max(speeds)} s"
        readings.append(f"{reading['measured']} on {reading['date']}, when it read {speed}")
    return (f"All numbers below were measured on the project's machine, with nothing else running "
            f"unless a block says otherwise: "
            f"{host['machine']}. Machines differ several-fold in speed, and so did this one from day "
            f"to day, as `../shared/tools/host_speed.py` shows (the course's reference machine reads "
            f"{host['reference_host_speed_s']} s; more is slower): " + "; ".join(readings) + ".")


def render_blocks() -> dict[str, str]:
    """Every generated README block, by name."""
    return {"machine": machine_block(load_results("host"), load_results("notebooks")),
            "notebooks": notebooks_table(load_results("notebooks"), load_results("quick")),
            "bench": bench_table(load_results("epoch_time")),
            "gpu": "\n\n".join(filter(None, [gpu_table(load_results("gpu_09_metrics")),
                                               reported_gpu_sentences(load_results("gpu_reported"))])),
            "search": search_block(load_results("capstone_search")),
            "published": published_block(load_results("notebooks"))}


def update_readme(readme: Path | None = None, check: bool = False) -> bool:
    """Rewrite the generated blocks of ``README.md`` (or only compare, with ``check``).

    Returns whether the README was already up to date.
    """
    readme = readme or course_dir() / "README.md"
    text = original = readme.read_text()
    for name, block in render_blocks().items():
        pattern = re.compile(rf"(<!-- results:{name} -->\n)(?:.*?\n)?(<!-- /results:{name} -->)", re.S)
        if not pattern.search(text):
            raise CourseError(f"{readme} has no block <!-- results:{name} --> ... "
                              f"<!-- /results:{name} -->")
        text = pattern.sub(lambda m, b=block: m.group(1) + b + "\n" + m.group(2), text)
    if not check and text != original:
        readme.write_text(text)
    return text == original
