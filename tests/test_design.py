"""The design is in the repository (docs/design.md, CONTRIBUTING.md), and what cites it cites a section
that is there."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DESIGN = ROOT / "docs" / "design.md"
CITATION = re.compile(r'docs/design\.md[^"\n]{0,6}"([^"\n]+)"')
"""``docs/design.md, "How a notebook is built"`` or ``docs/design.md's ("The two layers")``."""


def _sources() -> list[Path]:
    sources = [*(ROOT / "fmnist_helpers").rglob("*.py"), *(ROOT / "tests").rglob("*.py")]
    return [path for path in sources if path.resolve() != Path(__file__).resolve()]


def test_every_cited_section_of_the_design_exists():
    headings = {line.lstrip("#").strip() for line in DESIGN.read_text().splitlines() if line.startswith("#")}
    cited = {(path.name, title) for path in _sources() for title in CITATION.findall(path.read_text())}
    assert cited, "nothing cites docs/design.md"
    missing = [(name, title) for name, title in cited if title not in headings]
    assert not missing, f"cited sections that docs/design.md does not have: {missing}"


def test_nothing_cites_a_design_outside_the_repository():
    old = "COURSE_" + "DESIGN"
    citing = [path.name for path in _sources() if old in path.read_text()]
    assert not citing, f"{citing} cite {old}.md, which is not in the repository: cite docs/design.md"


def test_the_contributing_guide_points_to_the_design_and_the_checks():
    guide = (ROOT / "CONTRIBUTING.md").read_text()
    assert "docs/design.md" in guide
    for command in ("make lint", "make test", "make test-browser", "make site"):
        assert command in guide
