"""Fixtures for the browser tests: a real `streamlit run` server on a free port and a headless Chromium."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pytest
from e2ehelpers import streamlit_server

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("BIGMODEL_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="session")
def browser():
    """A headless Chromium; the tests skip without one unless BIGMODEL_REQUIRE_BROWSER is set."""
    if not CHROMIUM.exists():
        if os.environ.get("BIGMODEL_REQUIRE_BROWSER"):
            pytest.fail(f"BIGMODEL_REQUIRE_BROWSER is set but there is no Chromium at {CHROMIUM}.", pytrace=False)
        pytest.skip(f"no Chromium at {CHROMIUM} (set BIGMODEL_REQUIRE_BROWSER=1 to make this a failure)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def app_server(tmp_path_factory) -> Iterator[dict]:
    """`streamlit run app.py` with its own BIGMODEL_HOME; yields {"url", "home", "log"} and stops it after."""
    home = tmp_path_factory.mktemp("e2e-home")
    log = home.parent / f"{home.name}-streamlit.log"
    with streamlit_server(home, log) as (url, _proc):
        yield {"url": url, "home": home, "log": log}


@pytest.fixture
def page(browser, app_server, request):
    """A fresh browser tab (a new Streamlit session); on failure the server log's tail is printed."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    yield tab
    context.close()
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        print("---- streamlit log (tail) ----\n" + app_server["log"].read_text(errors="replace")[-4000:])


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)
