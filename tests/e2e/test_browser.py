"""The leaderboard in a real browser: `streamlit run` on 127.0.0.1, driven by Playwright in
Debian's Chromium. Changes a filter, checks the table changes and the URL carries the filter, and
saves a screenshot to test-artifacts/ (kept by CI as the test's artefact).

Needs /usr/bin/chromium (`apt-get install chromium`). Without it the test is skipped on a
laptop, and fails in CI (`CI` set), where it must run for real.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.results.store import ingest
from tests.conftest import REPO
from tests.unit.test_leaderboard_app import NLI, _result
from tests.unit.test_store import LANGS, SPECS, write

pytestmark = pytest.mark.e2e

CHROMIUM = Path(os.environ.get("XTRANSFER_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = REPO / "test-artifacts"


def _require_browser() -> None:
    if CHROMIUM.is_file() and shutil.which(str(CHROMIUM)):
        return
    message = f"Chromium not found at {CHROMIUM}: `apt-get install chromium`"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    _require_browser()
    folder = tmp_path_factory.mktemp("board")
    files = [
        write(folder, f"nli{i}", _result(intermediate, "toy_nli", values))
        for i, (intermediate, values) in enumerate(NLI.items())
    ]
    db = folder / "board.duckdb"
    ingest(db, files, LANGS, SPECS)
    port = _free_port()
    log = (folder / "streamlit.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(REPO / "leaderboard" / "app.py"),
            "--server.headless",
            "true",
            "--server.address",
            "127.0.0.1",
            "--server.port",
            str(port),
            "--browser.gatherUsageStats",
            "false",
            "--",
            "--db",
            str(db),
        ],
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.read() == b"ok":
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(
                    "streamlit did not start:\n" + (folder / "streamlit.log").read_text()
                )
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def _table(page, header: str, unless: str = "") -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    """The first table with the column ``header`` (and without ``unless``) as {first cell:
    [other cell texts]}, read from the grid's accessible cells (the visible grid is drawn on a
    canvas)."""
    for index in range(page.locator("[data-testid='stDataFrame']").count()):
        grid = page.locator("[data-testid='stDataFrame']").nth(index)
        headers = grid.locator("[role='columnheader']").all_inner_texts()
        if header in headers and not (unless and unless in headers):
            rows = {}
            for row in grid.locator("[role='row']").all():
                cells = row.locator("[role='gridcell']").all_inner_texts()
                if cells:
                    rows[cells[0]] = cells[1:]
            return rows
    raise AssertionError(f"no table with a column {header!r} on the page")


def _language_table(page) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    """The by-language table as {intermediate: [cell texts]}."""
    return _table(page, "xa", unless="best intermediate task")


def _browser(playwright):  # type: ignore[no-untyped-def]
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-dev-shm-usage"]
    )


def test_overview_shows_the_paper_matrix(server: str) -> None:
    """The Overview opens with intermediate settings x target tasks: the baseline row's scores,
    the other rows' gain [95% interval], the XTREME-style average."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = _browser(playwright)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1400})
            page.goto(server, timeout=60_000)
            page.wait_for_selector(
                "[data-testid='stDataFrame'] [role='gridcell']", state="attached", timeout=60_000
            )
            headers = (
                page.locator("[data-testid='stDataFrame']")
                .first.locator("[role='columnheader']")
                .all_inner_texts()
            )
            assert headers[-2:] == ["toy_nli", "average"]  # the first table is the matrix
            matrix = _table(page, "average")
            assert matrix["none"] == ["45.0", "45.0"]  # the baseline row: scores, in points
            assert re.fullmatch(
                r"\+4\.[23] \[\+\d+\.\d, \+\d+\.\d\]", matrix["toy_compositional"][0]
            )
            assert re.fullmatch(r"\+2\.[78]", matrix["toy_relational"][1])  # average: no interval
            page.wait_for_timeout(500)
            page.screenshot(path=str(ARTIFACTS / "leaderboard-overview.png"), full_page=True)
        finally:
            browser.close()
    assert (ARTIFACTS / "leaderboard-overview.png").stat().st_size > 10_000


def test_changing_a_filter_changes_the_table(server: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = _browser(playwright)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1400})
            page.goto(f"{server}/?page=By%20language&target=toy_nli", timeout=60_000)
            page.wait_for_selector(
                "[data-testid='stDataFrame'] [role='gridcell']", state="attached", timeout=60_000
            )
            gains = _language_table(page)
            assert float(gains["toy_lexical"][0]) == pytest.approx(10.0)  # xa gain, points
            assert float(gains["toy_compositional"][3]) == pytest.approx(12.0)  # xd gain

            # switch "Show" from the gain to the score, as a reader would
            page.locator("[data-testid='stSelectbox']").filter(has_text="Show").click()
            page.get_by_role("option", name="score", exact=True).click()
            expect(page).to_have_url(re.compile(r"[?&]show=value"), timeout=30_000)
            page.wait_for_function(
                """() => [...document.querySelectorAll("[role='gridcell']")]
                      .some(c => c.innerText.trim().startsWith('70'))""",
                timeout=30_000,
            )
            scores = _language_table(page)
            assert scores != gains
            assert float(scores["toy_lexical"][0]) == pytest.approx(70.0)  # xa score, points
            page.wait_for_timeout(1000)  # let the chart finish drawing for the screenshot
            page.screenshot(path=str(ARTIFACTS / "leaderboard-by-language.png"), full_page=True)
        finally:
            browser.close()
    assert (ARTIFACTS / "leaderboard-by-language.png").stat().st_size > 10_000
