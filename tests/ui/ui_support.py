"""Helpers shared by the UI tests and bench/bench_ui.py: the real
ctrace-agent process (RunningAgent), what a page did (PageRecorder), and page
navigation (fixtures are in conftest.py)."""

import os
import pathlib
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

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


SCREENSHOTS = ROOT / "build" / "ui"


def screenshot(page, name):
    """Saved under build/ui/ for a person to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def wait_ready(page, name):
    """Wait until the page says it rendered its data (main#view[data-ready])."""
    page.wait_for_selector(f"#view[data-ready='{name}']")


def forget_ready(page):
    """Drop the page's ready mark before an action that re-renders it: a hash
    change keeps the document, so the old mark would still be there."""
    if page.url.startswith("http"):
        page.evaluate("delete document.getElementById('view')?.dataset.ready")


def visit(page, url, ready):
    """Go to a page of the UI and wait until it rendered its data."""
    forget_ready(page)
    page.goto(url)
    wait_ready(page, ready)
