"""The website's pages as written from the notebooks and the README (no Sphinx, no browser: those
are ``tests/browser``)."""

from __future__ import annotations

import nbformat
import pytest

from fmnist_helpers.course.catalog import discover_notebooks
from fmnist_helpers.course.notebook_files import BEGIN, STUB, has_answer
from fmnist_helpers.course.website import (
    ANSWER_CLASS,
    ANSWER_TAG,
    markdown_section,
    notebook_facts,
    readme_teaches,
    shift_headings,
    site_notebook,
    static_output,
)
from fmnist_helpers.paths import course_dir

NOTEBOOKS = discover_notebooks(course_dir() / "notebooks")


def _notebook() -> nbformat.NotebookNode:
    out = nbformat.v4.new_output("stream", name="stdout", text="42\n")
    cells = [nbformat.v4.new_markdown_cell("# 99 · Test\n\n**Study time:** about 30 minutes (or more).\n\n"
                                           "**Follows** deeplizard's series."),
             nbformat.v4.new_code_cell("x = 1", outputs=[out]),
             nbformat.v4.new_code_cell(f"def f():\n    {BEGIN}\n    return 42\n    ### END SOLUTION\nf()",
                                       outputs=[out]),
             nbformat.v4.new_code_cell("answer = 42", metadata={"tags": ["solution"]}, outputs=[out]),
             nbformat.v4.new_markdown_cell("The answer is 42.", metadata={"tags": ["solution"]})]
    return nbformat.v4.new_notebook(cells=cells)


def test_the_student_edition_stubs_answers_and_drops_their_outputs_only():
    notebook = _notebook()
    page = site_notebook(notebook, "student")
    assert [cell.cell_type for cell in page.cells] == ["markdown", "code", "code", "code"]
    kept, region, tagged = page.cells[1:]
    assert kept.outputs == notebook.cells[1].outputs
    assert region.source == f"def f():\n    {STUB.replace(chr(10), chr(10) + '    ')}\nf()"
    assert tagged.source == STUB
    assert region.outputs == tagged.outputs == []
    assert len(notebook.cells) == 5 and notebook.cells[2].outputs  # the original is unchanged


def test_the_instructor_edition_keeps_everything_and_marks_the_answers():
    page = site_notebook(_notebook(), "instructor")
    assert [ANSWER_TAG in cell.metadata.get("tags", []) for cell in page.cells[:4]] == \
           [False, False, True, True]
    assert all(cell.outputs for cell in page.cells[1:4])
    assert f":class: {ANSWER_CLASS}" in page.cells[4].source and "The answer is 42." in page.cells[4].source


@pytest.mark.parametrize("edition", ["student", "instructor"])
def test_every_real_notebook_converts(edition):
    for path in NOTEBOOKS:
        notebook = nbformat.read(path, as_version=4)
        page = site_notebook(notebook, edition)
        code = [cell for cell in page.cells if cell.cell_type == "code"]
        assert len(code) == sum(cell.cell_type == "code" for cell in notebook.cells)
        if edition == "student":
            assert not any(BEGIN in cell.source for cell in code)
            assert not any(has_answer(cell) and cell.get("outputs") for cell in page.cells)


def test_a_live_tensorboard_frame_becomes_a_note():
    frame = nbformat.v4.new_output("display_data", data={
        "text/html": '<iframe id="tensorboard-frame-1"></iframe><script>frame.src = url;</script>',
        "text/plain": "<IPython.core.display.HTML object>"})
    note = static_output(frame)
    assert note.output_type == "stream" and "TensorBoard" in note.text and "make lab" in note.text
    table = nbformat.v4.new_output("display_data", data={"text/html": "<table></table>"})
    assert static_output(table) is table


def test_facts_come_from_the_first_cell_and_the_readme():
    facts = notebook_facts(course_dir() / "notebooks" / "99_test.ipynb", _notebook(), {"99_test": "x"})
    assert (facts.title, facts.teaches, facts.study_time) == ("99 · Test", "x", "30 min")
    assert facts.credit == "**Follows** deeplizard's series."
    teaches = readme_teaches((course_dir() / "README.md").read_text())
    for path in NOTEBOOKS:
        facts = notebook_facts(path, nbformat.read(path, as_version=4), teaches)
        assert facts.title.startswith(path.stem[:2]) and facts.teaches and facts.study_time, path.name
        assert facts.credit, path.name


def test_sections_end_at_the_next_heading_outside_code():
    text = "# T\n\n## A\n\ntext\n```bash\n## not a heading\n```\n### sub\nmore\n## B\nother"
    assert markdown_section(text, "A") == "text\n```bash\n## not a heading\n```\n### sub\nmore"
    assert markdown_section(text, "sub", 3) == "more"
    assert markdown_section(text, "missing") is None
    assert shift_headings("### a\n```\n# b\n```", -1) == "## a\n```\n# b\n```"
