"""The website in a real browser: both editions built once per session, served on 127.0.0.1, read by
headless Chromium (Debian's ``/usr/bin/chromium``, driven by Playwright from pip).

These tests run on their own (``make test-browser``: ``pytest tests/browser``), apart from the
notebook workers of ``make test``: a pytest run that does not name this folder skips it.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from fmnist_helpers.course.catalog import discover_notebooks
from fmnist_helpers.course.website import EDITIONS, build_site
from fmnist_helpers.paths import course_dir

HERE = Path(__file__).parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--disable-default-apps", "--disable-extensions"]


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Collect the browser tests only when the command line names this folder (or a file in it)."""
    named = [Path(str(arg).split("::")[0]).resolve() for arg in config.args]
    if any(path == HERE or HERE in path.parents for path in named):
        return None
    return True


@pytest.fixture(scope="session")
def notebooks(tmp_path_factory) -> Path:
    """A copy of ``notebooks/`` taken at the start: the sites are built from it and compared with
    it, so the tests agree even while someone edits a notebook."""
    copy = tmp_path_factory.mktemp("notebooks")
    for path in discover_notebooks(course_dir() / "notebooks"):
        shutil.copyfile(path, copy / path.name)
    return copy


@pytest.fixture(scope="session")
def sites(tmp_path_factory, notebooks) -> Path:
    """Both editions, built once: ``<root>/student/`` and ``<root>/instructor/``."""
    root = tmp_path_factory.mktemp("sites")
    for edition in EDITIONS:
        build_site(edition, root / edition, notebooks_dir=notebooks)
    return root


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="session")
def server(sites) -> Iterator[str]:
    """``http://127.0.0.1:PORT/``, serving the folder that holds both editions: each site is served
    from a sub-path (``/student/``), as it would be from any folder of a web server."""
    handler = functools.partial(_QuietHandler, directory=str(sites))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}/"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Chromium from Debian's package (never ``playwright install``)."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class Tab:
    """A browser page that lets only the local server through and records every problem."""

    page: Any
    base: str
    blocked: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # page errors, failed requests, console errors

    def goto(self, url: str) -> None:
        """Open ``url`` (relative to the server) and wait until the network is quiet."""
        self.page.goto(url if url.startswith("http") else self.base + url, wait_until="load")
        self.page.wait_for_load_state("networkidle")

    def problems(self) -> list[str]:
        """Everything that went wrong since the last call, then forget it."""
        found = [*(f"blocked {url}" for url in self.blocked), *self.errors]
        self.blocked.clear()
        self.errors.clear()
        return found


@pytest.fixture(scope="session")
def tab(browser, server) -> Iterator[Tab]:
    """One page for the session (pages are opened one after another)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    tab = Tab(page, server)

    def route(route: Any) -> None:
        if route.request.url.startswith(server):
            route.continue_()
        else:  # every other address, a CDN included, is refused and recorded
            tab.blocked.append(route.request.url)
            route.abort()

    page.route("**/*", route)
    page.on("pageerror", lambda error: tab.errors.append(f"page error: {error}"))
    page.on("requestfailed", lambda request: tab.errors.append(
        f"failed request {request.url}: {request.failure}") if request.url.startswith(server) else None)
    page.on("response", lambda response: tab.errors.append(
        f"HTTP {response.status} {response.url}") if response.status >= 400 else None)
    page.on("console", lambda message: tab.errors.append(
        f"console error: {message.text}") if message.type == "error" else None)
    yield tab
    context.close()
