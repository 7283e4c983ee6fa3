"""Fixtures for the UI tests: a real ctrace-agent on a free port with its own
data directory, fed Datadog v0.4 payloads, and a headless Chromium (Debian's,
through Playwright) whose every request and console error is recorded.

Every test's page is checked on teardown: no request left the agent's
origin, no JavaScript error, no console error, no dialog (an alert() would be
an XSS payload running).

Development only: CTRACE_UI_MOCK=1 runs tests/ui/mock_api.py instead of the
agent (it was used to write the UI before the agent answered).
"""

import os
import pathlib
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import sync_playwright

import ui_trace_data

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CTRACE_CHROMIUM", "/usr/bin/chromium")


def find_agent():
    candidates = [os.environ.get("CTRACE_AGENT"),
                  pathlib.Path(sys.executable).parent / "ctrace-agent",
                  ROOT / "build" / "agent" / "agent" / "ctrace-agent"]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return str(candidate)
    pytest.fail("ctrace-agent not found: set CTRACE_AGENT, install it next to python, "
                "or build it with `meson setup build/agent -Dtracer=false && meson compile -C build/agent`")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RunningAgent:
    """A ctrace-agent process (or the mock) on 127.0.0.1:<port>."""

    def __init__(self, data_dir):
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log = open(data_dir / "agent.log", "wb")
        if os.environ.get("CTRACE_UI_MOCK"):
            command = [sys.executable, str(pathlib.Path(__file__).with_name("mock_api.py")), "--port", str(self.port)]
        else:
            command = [find_agent(), "--data", str(data_dir), "--listen", f"127.0.0.1:{self.port}"]
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT)
        self.wait_ready()

    def wait_ready(self, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"agent exited with {self.process.returncode}; see {self.log.name}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/api/v1/services", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.1)
        raise RuntimeError(f"agent not ready after {timeout}s; see {self.log.name}")

    def send(self, traces):
        ui_trace_data.send_traces(self.base_url, traces)

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


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


class PageRecorder:
    """What a page did: requests, console errors, uncaught errors, dialogs."""

    def __init__(self, page):
        self.requests = []
        self.console_errors = []
        self.page_errors = []
        self.dialogs = []
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("console", lambda message: message.type == "error" and self.console_errors.append(message.text))
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))

        def on_dialog(dialog):
            self.dialogs.append(f"{dialog.type}: {dialog.message}")
            dialog.dismiss()
        page.on("dialog", on_dialog)

    def foreign_requests(self, origin):
        return [url for url in self.requests if not (url == origin or url.startswith(origin + "/"))]


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
