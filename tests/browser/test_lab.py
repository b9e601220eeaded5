"""The student copies in JupyterLab, driven in headless Chromium as a student would use them.

A temporary copy of the course (notebooks 03, 04 and 05, the Makefile, the course's ``.venv`` linked
in) gets its student copies from ``make student`` and its JupyterLab from ``make lab OPEN=student``,
the README's own steps; only the port, the token and the user settings come from a configuration
folder of the test's own (``JUPYTER_CONFIG_DIR``). The tests then open the student copies, Run All,
read what each cell shows, answer an exercise, save and reopen, and count the lines that training
prints. Screenshots go to ``build/lab-shots/``.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import pytest
from papermill.iorw import load_notebook_node
from papermill.parameterize import parameterize_notebook

from fmnist_helpers.course.catalog import select_notebooks
from fmnist_helpers.course.notebook_files import BEGIN, END, RAISES_TAG, has_answer
from fmnist_helpers.paths import course_dir

COURSE = course_dir()
SHOTS = COURSE / "build" / "lab-shots"
NOTEBOOKS = ("03", "04", "05")
QUICK_04 = {"epochs": 3, "max_batches": 200, "show_progress": True}
"""Notebook 04 in the student's copy, made quick as papermill would (its bars stay on)."""
RUN_ALL_TIMEOUT_S = 420

CELLS_SCRIPT = """() => [...document.querySelectorAll(
    ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell")].map((cell) => ({
  code: cell.classList.contains("jp-CodeCell"),
  source: cell.querySelector(".cm-content") ? cell.querySelector(".cm-content").innerText : "",
  prompt: cell.querySelector(".jp-InputPrompt") ? cell.querySelector(".jp-InputPrompt").innerText : "",
  output: cell.querySelector(".jp-OutputArea") ? cell.querySelector(".jp-OutputArea").innerText : "",
  errors: cell.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
    .length,
}))"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _make(*args: str) -> list[str]:
    """The command line of ``make ARGS`` as a student types it, except that the environment's
    install stamp is taken as up to date (``-o``): the linked ``.venv`` is the course's own."""
    return ["make", "--no-print-directory", "-o", ".venv/.installed", *args]


def _quicken(path: Path, values: dict[str, Any]) -> None:
    """Give the notebook at ``path`` papermill's injected-parameters cell with ``values``."""
    notebook = parameterize_notebook(load_notebook_node(str(path)), values, report_mode=False)
    notebook.metadata.pop("papermill", None)
    nbformat.write(notebook, path)


@pytest.fixture(scope="module")
def course(tmp_path_factory, data_root) -> Path:
    """A course folder of three notebooks with its student copies, made by ``make student``; its
    kernels read the real data through ``$FMNIST_DATA`` (``data_root`` fails without it)."""
    root = tmp_path_factory.mktemp("lab") / "course"
    (root / "notebooks").mkdir(parents=True)
    for path in select_notebooks(",".join(NOTEBOOKS), COURSE / "notebooks"):
        shutil.copyfile(path, root / "notebooks" / path.name)
    for name in ("Makefile", "requirements.txt", "pyproject.toml"):
        shutil.copyfile(COURSE / name, root / name)
    (root / ".venv").symlink_to(Path(sys.prefix))
    env = {k: v for k, v in os.environ.items() if k not in ("FMNIST_COURSE", "TQDM_DISABLE")}
    done = subprocess.run(_make("student"), cwd=root, env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert sorted(p.name[:2] for p in (root / "student").glob("*.ipynb")) == list(NOTEBOOKS)
    _quicken(root / "student" / "04_training.ipynb", QUICK_04)
    return root


@dataclass
class Lab:
    """A JupyterLab server on the course, and the token to reach it."""

    url: str
    token: str
    log: Path


@pytest.fixture(scope="module")
def lab(course, tmp_path_factory) -> Iterator[Lab]:
    """``make lab OPEN=student`` in the course folder, on a free port of 127.0.0.1."""
    config = tmp_path_factory.mktemp("jupyter-config")
    port, token = _free_port(), secrets.token_hex(16)
    (config / "jupyter_server_config.json").write_text(json.dumps({
        "ServerApp": {"ip": "127.0.0.1", "port": port, "port_retries": 0, "open_browser": False},
        "IdentityProvider": {"token": token}}))
    settings = config / "lab" / "user-settings" / "@jupyterlab"
    for extension, values in {  # every cell in the page (no virtual scrolling); no news fetched
        "notebook-extension/tracker": {"windowingMode": "none"},
        "apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    }.items():
        (settings / extension).parent.mkdir(parents=True, exist_ok=True)
        (settings / f"{extension}.jupyterlab-settings").write_text(json.dumps(values))
    env = {k: v for k, v in os.environ.items() if k not in ("FMNIST_COURSE", "TQDM_DISABLE")}
    env.update(JUPYTER_CONFIG_DIR=str(config), JUPYTER_RUNTIME_DIR=str(config / "runtime"),
               OMP_NUM_THREADS="1", JUPYTER_PREFER_ENV_PATH="1")
    log = config / "lab.log"
    with log.open("w") as out:
        server = subprocess.Popen(_make("lab", "OPEN=student"), cwd=course,
                                  env=env, stdout=out, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if server.poll() is not None:
                pytest.fail(f"make lab stopped ({server.returncode}):\n{log.read_text()}")
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not start in 120 s:\n{log.read_text()}")
                time.sleep(1)
        yield Lab(url, token, log)
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # make, JupyterLab and its kernels: this group only
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


@dataclass
class LabTab:
    """One browser page on JupyterLab that records every failed request and page error."""

    page: Any
    lab: Lab
    course: Path
    errors: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)

    def shot(self, name: str, element: Any = None) -> Path:
        SHOTS.mkdir(parents=True, exist_ok=True)
        target = SHOTS / name
        (element or self.page).screenshot(path=str(target))
        return target

    def cells(self) -> list[dict[str, Any]]:
        """Every cell of the notebook in front: source, prompt, output text, error count."""
        return self.page.evaluate(CELLS_SCRIPT)

    def cell(self, index: int) -> Any:
        return self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell").nth(index)

    def open(self, path: str) -> None:
        """Open the notebook at ``path`` (from the course folder) in a fresh page (closing and
        reopening it) and wait until all its cells are shown and its kernel is idle."""
        self.page.goto(f"{self.lab.url}/lab/tree/{path}?token={self.lab.token}&reset")  # only it
        count = len(nbformat.read(self.course / path, as_version=4).cells)
        deadline = time.monotonic() + 120
        while len(self.cells()) != count:  # an empty panel comes first, then the notebook
            assert time.monotonic() < deadline, f"{path}: {len(self.cells())} cells shown, not {count}"
            self.wait(0.3)
        self.wait_idle()

    def wait_idle(self, timeout_s: float = 120) -> None:
        """Wait until the kernel is idle and no cell is queued or running (``[*]``)."""
        deadline, quiet_since = time.monotonic() + timeout_s, None
        while time.monotonic() < deadline:
            idle = self.page.locator(  # the status bar: "Python 3 (ipykernel) | Idle"
                ".jp-StatusBar-Item", has_text=re.compile(r"\| Idle$")).count() > 0
            running = any("*" in cell["prompt"] for cell in self.cells())
            if idle and not running:
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since > 1.5:
                    return
            else:
                quiet_since = None
            self.wait(0.3)
        raise AssertionError(f"the notebook was still running after {timeout_s} s")

    def menu(self, top: str, item: str) -> None:
        self.page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{top}$")).click()
        self.page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{item}$")).click()

    def run_all(self) -> None:
        self.menu("Run", "Run All Cells")

    def save(self, path: Path) -> None:
        """Save the notebook in front (File, Save Notebook) and wait until ``path`` changed."""
        before = path.stat().st_mtime_ns
        self.menu("File", "Save Notebook")
        deadline = time.monotonic() + 60
        while path.stat().st_mtime_ns == before:
            if time.monotonic() > deadline:
                self.shot("not-saved.png")
                raise AssertionError(f"{path.name} was not saved")
            self.wait(0.2)
        self.wait(0.5)  # written completely

    def wait(self, seconds: float) -> None:
        """Let ``seconds`` pass while the page's requests go on (``route`` answers them here: a
        plain ``time.sleep`` would hold every request of the page until it ends)."""
        self.page.wait_for_timeout(seconds * 1000)


@pytest.fixture(scope="module")
def tab(browser, lab, course) -> Iterator[LabTab]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    tab = LabTab(page, lab, course)

    def route(route: Any) -> None:
        if route.request.url.startswith(lab.url):
            route.continue_()
        else:  # nothing leaves the machine
            tab.blocked.append(route.request.url)
            route.abort()

    page.route("**/*", route)
    page.on("pageerror", lambda error: tab.errors.append(f"page error: {error}"))
    page.on("response", lambda response: tab.errors.append(
        f"HTTP {response.status} {response.url}") if response.status >= 400 else None)
    yield tab
    context.close()


def _code_cells(path: Path) -> list[nbformat.NotebookNode]:
    return [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]


def _answer(source: str) -> str:
    """The instructor's cell as a student would write it: the answer without nbgrader's markers."""
    return "\n".join(line for line in source.splitlines() if line.strip() not in (BEGIN, END))


def _lines(text: str) -> list[str]:
    """The non-blank lines of ``text`` (an editor's text shows blank lines its own way)."""
    return [line.rstrip() for line in text.splitlines() if line.strip()]


def test_make_lab_opens_the_student_copies(tab, course):
    """``make lab OPEN=student`` opens JupyterLab at student/, inside its root (the course)."""
    tab.page.goto(f"{tab.lab.url}/?token={tab.lab.token}")
    tab.page.wait_for_url(re.compile(r"/lab/tree/student"))
    listing = tab.page.locator(".jp-DirListing-item")
    listing.filter(has_text="03_forward_pass.ipynb").wait_for()
    names = sorted(listing.all_inner_texts())
    assert [n.split()[0] for n in names] == sorted(
        p.name for p in (course / "student").iterdir() if not p.name.startswith("."))
    tab.open("student/03_forward_pass.ipynb")
    assert tab.page.locator(".jp-Dialog").count() == 0  # no "Could not find path"
    tab.shot("lab-opened-at-student.png")
    assert not tab.errors, tab.errors


@pytest.fixture(scope="module")
def ran_03(tab, course) -> list[dict[str, Any]]:
    """Student copy 03, Run All: what every cell shows."""
    tab.open("student/03_forward_pass.ipynb")
    tab.run_all()
    tab.wait_idle(RUN_ALL_TIMEOUT_S)
    tab.save(course / "student" / "03_forward_pass.ipynb")
    return tab.cells()


def test_run_all_goes_past_the_stubs_and_every_check_shows_its_hint(tab, ran_03, course):
    code = [c for c in ran_03 if c["code"]]
    assert len(code) == len(_code_cells(course / "student" / "03_forward_pass.ipynb"))
    assert all(re.fullmatch(r"\[\d+\]:", c["prompt"]) for c in code), \
        [c["prompt"] for c in code]  # every cell ran, none left "[ ]:" after the first stub
    stubs = [c for c in code if "raise NotImplementedError()" in c["source"]]
    assert len(stubs) == 3 and all(c["errors"] == 1 for c in stubs)
    assert all(c["errors"] == 0 for c in code if c not in stubs)
    checks = [c for c in code if "check_exercise(" in c["source"]]
    assert len(checks) == 3
    for number, check in enumerate(checks, start=1):
        assert f"Exercise 03.{number}" in check["output"] and "✗" in check["output"], check
    saved = [c for c in _code_cells(course / "student" / "03_forward_pass.ipynb")
             if RAISES_TAG in c.metadata.get("tags", [])]
    assert len(saved) == 3  # the tag that let Run All go on, kept by JupyterLab's save
    index = next(i for i, c in enumerate(ran_03) if "check_exercise(\"03.3\"" in c["source"])
    tab.cell(index).scroll_into_view_if_needed()
    tab.shot("run-all-last-check.png", tab.cell(index))
    assert not tab.errors, tab.errors


def test_a_missing_answer_is_named_once_in_one_sentence(ran_03):
    for check in [c for c in ran_03 if c["code"] and "check_exercise(" in c["source"]]:
        output = check["output"]
        assert output.count("finish exercise") == 1, output
        assert re.search(r"finish exercise \d first: `\w+` is not defined yet \(run your answer cell\)",
                         output), output
        assert "not defined yet" not in output.split("finish exercise")[1].split("\n", 1)[1], output


def test_an_answer_passes_its_check_and_survives_save_and_reopen(tab, ran_03, course):
    instructor = _code_cells(course / "notebooks" / "03_forward_pass.ipynb")
    student = course / "student" / "03_forward_pass.ipynb"
    (position,) = [k for k, c in enumerate(instructor) if has_answer(c) and "top3" in c.source]
    answer = _answer(instructor[position].source)
    code_indices = [i for i, c in enumerate(ran_03) if c["code"]]
    cell = tab.cell(code_indices[position])
    cell.locator(".cm-content").click()
    tab.page.keyboard.press("Control+a")
    tab.page.keyboard.insert_text(answer)
    tab.page.keyboard.press("Shift+Enter")  # the answer, then the check cell after it
    tab.wait_idle()
    tab.page.keyboard.press("Shift+Enter")
    tab.wait_idle()
    cells = tab.cells()
    check = cells[code_indices[position + 1]]
    assert "check_exercise(\"03.3\"" in check["source"]
    assert "✗" not in check["output"] and "✓" in check["output"], check["output"]
    tab.shot("answered-check.png", tab.cell(code_indices[position + 1]))
    tab.save(student)
    saved = _code_cells(student)
    assert saved[position].source == answer
    assert "✓" in "".join(o.get("data", {}).get("text/plain", "") for o in saved[position + 1].outputs)
    tab.open("student/03_forward_pass.ipynb")  # reopen: the answer and its check's output stay
    reopened = tab.cells()
    assert _lines(reopened[code_indices[position]]["source"]) == _lines(answer)
    assert "✓" in reopened[code_indices[position + 1]]["output"]
    assert "Error displaying widget" not in tab.page.inner_text("body")
    assert not tab.errors, tab.errors


@dataclass
class Training:
    cells: list[dict[str, Any]]
    during: list[str]  # the training cell's output lines while an epoch ran


def _training_index(cells: list[dict[str, Any]]) -> int:
    return next(i for i, c in enumerate(cells) if c["code"] and "for epoch in tqdm(" in c["source"])


@pytest.fixture(scope="module")
def ran_04(tab, course) -> Training:
    """Student copy 04 (quick), Run All; the training cell watched while it runs."""
    tab.open("student/04_training.ipynb")
    index = _training_index(tab.cells())
    tab.run_all()
    during: list[str] = []
    deadline = time.monotonic() + RUN_ALL_TIMEOUT_S
    output = tab.cell(index).locator(".jp-OutputArea")
    while time.monotonic() < deadline and not during:
        text = output.inner_text() if output.count() else ""
        if "batches:" in text and "epoch 1 " in text:  # in the second epoch, its batches running
            during = [line for line in text.splitlines() if line.strip()]
            tab.cell(index).scroll_into_view_if_needed()
            tab.shot("training-while-it-runs.png", tab.cell(index))
        tab.wait(0.2)
    tab.wait_idle(RUN_ALL_TIMEOUT_S)
    cells = tab.cells()
    tab.cell(index).scroll_into_view_if_needed()
    tab.shot("training-done.png", tab.cell(index))
    tab.save(course / "student" / "04_training.ipynb")
    return Training(cells, during)


def test_training_prints_one_line_per_epoch_and_one_bar(ran_04):
    cell = ran_04.cells[_training_index(ran_04.cells)]
    lines = [line for line in cell["output"].splitlines() if line.strip()]
    epochs = QUICK_04["epochs"]
    assert len(lines) == epochs + 2, lines  # the bar, one line per epoch, the total time
    assert lines[0].startswith("epochs: 100%") and f"{epochs}/{epochs}" in lines[0], lines
    assert [line.split()[:2] for line in lines[1:-1]] == [["epoch", str(e)] for e in range(1, epochs + 1)]
    assert "\x1b" not in cell["output"]


def test_while_training_the_batch_bar_is_redrawn_in_place(ran_04):
    bars = [line for line in ran_04.during if line.startswith(("epochs:", "batches:"))]
    assert [line.split(":")[0] for line in bars] == ["epochs", "batches"], ran_04.during
    assert len(ran_04.during) <= 2 + QUICK_04["epochs"], ran_04.during


def test_the_students_04_writes_to_student_outputs_and_05_reads_them(tab, ran_04, course):
    assert (course / "student" / "outputs" / "04_training" / "model.pt").is_file()
    assert not (course / "outputs").exists()  # the instructor's outputs/ is never written
    tab.open("student/05_analysis.ipynb")
    tab.run_all()
    tab.wait_idle(RUN_ALL_TIMEOUT_S)
    cells = tab.cells()
    (loaded,) = [c for c in cells if c["code"] and "model_path = " in c["source"]]
    weights = (course / "student" / "outputs" / "04_training" / "model.pt").resolve()
    assert f"trained weights: {weights}" in loaded["output"], loaded["output"]
    assert (course / "student" / "outputs" / "05_analysis" / "metrics.json").is_file()
    assert not (course / "outputs").exists()


def test_reopened_training_output_is_text_not_a_widget(tab, ran_04):
    tab.open("student/04_training.ipynb")  # reopened after the save
    cells = tab.cells()
    cell = cells[_training_index(cells)]
    assert cell["output"].splitlines()[0].startswith("epochs: 100%"), cell["output"]
    assert "Error displaying widget" not in tab.page.inner_text("body")
    assert not tab.errors, tab.errors
    assert not tab.blocked, tab.blocked  # JupyterLab asked for nothing beyond the machine
