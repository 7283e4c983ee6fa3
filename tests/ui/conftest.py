"""Fixtures for the UI tests: a real ctrace-agent on a free port with its own
data directory, fed Datadog v0.4 payloads, and a headless Chromium (Debian's,
through Playwright) whose every request and console error is recorded.

Every test's page is checked on teardown: no request left the agent's
origin, no JavaScript error, no console error, no dialog (an alert() would be
an XSS payload running).

Development only: CTRACE_UI_MOCK=1 runs tests/ui/mock_api.py instead of the
agent (it was used to write the UI before the agent answered).
"""

import pytest
from playwright.sync_api import sync_playwright

import ui_trace_data
from ui_support import CHROMIUM, PageRecorder, RunningAgent


@pytest.fixture(scope="session")
def start_agent(tmp_path_factory):
    """A factory: start_agent() -> RunningAgent with a fresh data directory."""
    agents = []

    def start():
        agent = RunningAgent(tmp_path_factory.mktemp("agent"))
        agents.append(agent)
        return agent

    yield start
    for agent in agents:
        agent.stop()


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def open_page(browser, request):
    """open_page(agent) -> (page, recorder): a fresh browser context on the
    agent's origin; checked on teardown (see the module docstring)."""
    opened = []

    def open_(agent, viewport=(1400, 900)):
        context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]}, base_url=agent.base_url)
        page = context.new_page()
        page.set_default_timeout(10_000)
        recorder = PageRecorder(page)
        opened.append((context, recorder, agent))
        return page, recorder

    yield open_
    for context, recorder, agent in opened:
        context.close()
        assert recorder.foreign_requests(agent.base_url) == [], "requests left the agent's origin"
        assert recorder.page_errors == [], "JavaScript errors"
        assert recorder.dialogs == [], "a dialog opened: a payload ran"
        expected = getattr(request.node, "expected_console_errors", 0)
        assert len(recorder.console_errors) <= expected, f"console errors: {recorder.console_errors}"


@pytest.fixture(scope="session")
def agent(start_agent):
    """One agent holding the explorer's functional data set (ui_trace_data.explorer_dataset)."""
    running = start_agent()
    running.data = ui_trace_data.explorer_dataset()
    running.send(running.data["traces"])
    return running
