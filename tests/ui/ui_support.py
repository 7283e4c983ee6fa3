"""Helpers shared by the UI tests (fixtures are in conftest.py)."""

import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
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
