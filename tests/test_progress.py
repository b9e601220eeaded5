"""Progress bars in a Jupyter kernel: one line redrawn in place, never a line per refresh.

JupyterLab ignores the terminal's cursor-up code that tqdm uses to redraw nested bars, so an epoch
bar around ``train_one_epoch``'s batch bar printed every refresh as a new line (297 lines for two
epochs of notebook 04). These tests run that pattern in a real kernel (nbclient, as papermill and
JupyterLab do) and count the lines its cell shows, the way a front end draws them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from fmnist_helpers import tqdm
from fmnist_helpers.course.environment import KERNEL_NAME, apply_environment, kernel_environment

SETUP = """\
import time
import torch
from torch import nn
from fmnist_helpers import tqdm, train_one_epoch

torch.manual_seed(0)
model = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
batches = [(torch.randn(8, 1, 2, 2), torch.randint(0, 2, (8,))) for _ in range(30)]
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)


def slow(*_):
    time.sleep(0.02)  # a batch that takes a while: the bars refresh several times per epoch


from IPython.display import DisplayHandle  # every redraw of a display, recorded

drawn = []
update = DisplayHandle.update
DisplayHandle.update = lambda handle, data, **kw: (drawn.append(data["text/plain"]),
                                                   update(handle, data, **kw))
"""

TRAINING = """\
for epoch in tqdm(range(1, 4), desc="epochs", unit="epoch"):
    result = train_one_epoch(model, batches, optimizer, show_progress=True, on_batch=slow)
    print("epoch", epoch, "total_correct:", result.total_correct)
"""
"""Notebook 04's training cell in small: an epoch bar around train_one_epoch's batch bar."""

ESCAPE = re.compile(r"\x1b\[")


def run_cells(*sources: str, tmp_path: Path) -> nbformat.NotebookNode:
    """Execute ``sources`` as the cells of a notebook in the course's kernel; errors stay in the
    outputs (each cell runs)."""
    apply_environment()
    notebook = new_notebook(cells=[new_code_cell(s) for s in sources])
    client = NotebookClient(notebook, kernel_name=KERNEL_NAME, timeout=120, allow_errors=True,
                            resources={"metadata": {"path": str(tmp_path)}})
    with kernel_environment():
        client.execute()
    return notebook


def drawn_lines(text: str) -> list[str]:
    """The lines a front end that honours ``\\r`` shows for ``text``: each line's last rewrite."""
    return [line.split("\r")[-1] for line in text.split("\n")]


def shown(cell: nbformat.NotebookNode) -> list[str]:
    """Every line the cell's output area shows, in order: streams as drawn (a front end joins
    consecutive stream outputs), displays as their text."""
    lines, stream = [], ""
    for output in [*cell.outputs, None]:
        if output is not None and output.output_type == "stream":
            stream += output.text
            continue
        lines += [line for line in drawn_lines(stream) if line.strip()]
        stream = ""
        if output is not None and output.output_type in ("display_data", "execute_result"):
            lines += [line for line in output.data.get("text/plain", "").splitlines() if line.strip()]
    return lines


def raw_text(cell: nbformat.NotebookNode) -> str:
    return "".join(o.get("text", "") + str(o.get("data", {})) for o in cell.outputs)


@pytest.fixture(scope="module")
def training(tmp_path_factory) -> nbformat.NotebookNode:
    """The training cell run in a kernel, with the bars on."""
    return run_cells(SETUP, TRAINING, "import json\nprint(json.dumps(drawn))",
                     tmp_path=tmp_path_factory.mktemp("bars"))


def test_nested_bars_in_a_kernel_draw_one_line_each_epoch_prints_one(training):
    cell = training.cells[1]
    assert not [o for o in cell.outputs if o.output_type == "error"], cell.outputs
    lines = shown(cell)
    printed = [line for line in lines if line.startswith("epoch ")]
    assert [line.split(" total_correct")[0] for line in printed] == ["epoch 1", "epoch 2", "epoch 3"]
    assert len(lines) == 4, lines  # the epoch bar, finished, above the lines the loop printed;
    assert lines[0].startswith("epochs: 100%") and "3/3" in lines[0]  # each batch bar went with
    assert not ESCAPE.search(raw_text(cell))  # no cursor movements a notebook cannot follow
    assert "batches" not in raw_text(cell)  # closed (leave=False): nothing of it stays


def test_while_an_epoch_runs_its_batch_bar_is_the_second_line_of_the_display(training):
    redraws = json.loads(training.cells[2].outputs[0].text)
    assert len(redraws) > 6  # redrawn in place many times, never a new line
    nested = [text.splitlines() for text in redraws if "batches" in text]
    assert nested and all(len(lines) == 2 and lines[0].startswith("epochs:")
                          and lines[1].startswith("batches:") for lines in nested)
    assert any("batches: 100%" in lines[1] for lines in nested) or len(nested) >= 3


def test_the_bar_is_text_and_no_widget(training):
    cell = training.cells[1]
    for output in cell.outputs:
        assert not any("widget" in mime for mime in output.get("data", {})), output


def test_a_single_bar_in_a_kernel_ends_as_one_line(tmp_path):
    notebook = run_cells(
        "import time\nfrom fmnist_helpers import tqdm\n"
        "for _ in tqdm(range(20), desc='items'):\n    time.sleep(0.02)\nprint('done')",
        tmp_path=tmp_path)
    lines = shown(notebook.cells[0])
    assert len(lines) == 2 and lines[0].startswith("items: 100%") and lines[1] == "done", lines


def test_a_bar_left_open_by_a_failed_cell_does_not_swallow_the_next_cells_bar(tmp_path):
    notebook = run_cells(
        "from fmnist_helpers import tqdm\nfor i in tqdm(range(5), desc='first'):\n"
        "    if i == 2:\n        raise ValueError('stop')",  # the traceback keeps that bar alive
        "for _ in tqdm(range(3), desc='second'):\n    pass",
        tmp_path=tmp_path)
    assert [o.ename for o in notebook.cells[0].outputs if o.output_type == "error"] == ["ValueError"]
    (line,) = shown(notebook.cells[1])
    assert line.startswith("second: 100%"), line


def test_outside_a_kernel_nested_bars_are_tqdms_text_bars(monkeypatch, capsys):
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    for _ in tqdm(range(2), desc="outer"):
        for _ in tqdm(range(2), desc="inner", leave=False):
            pass
    out = capsys.readouterr().out
    assert "outer: 100%" in out and "inner" in out  # a terminal follows tqdm's cursor movements
