"""The explorer's load-time budgets, measured in headless Chromium against a
real agent holding a 10,000-span trace and 200 services with a day of data:
the trace opens (navigation to flame graph drawn) in under 2 s, the services
page renders in under 1 s. The figures are printed and written to
build/ui/performance.json."""

import json
import time

import pytest

from ui_support import SCREENSHOTS, screenshot
from ui_trace_data import big_trace, day_of_services, hex_trace_id

TRACE_LIMIT_S = 2.0
SERVICES_LIMIT_S = 1.0
figures = {}


@pytest.fixture(scope="module")
def loaded_agent(start_agent):
    agent = start_agent()
    agent.big = big_trace(10_000)
    agent.send([agent.big])
    agent.send(day_of_services(200, 48))
    yield agent
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / "performance.json").write_text(json.dumps(figures, indent=2) + "\n")


def timed_load(page, url, selector):
    """Seconds from the start of a fresh navigation to `selector` present,
    and the page's own figure (performance.now() at that moment)."""
    page.goto("about:blank")
    start = time.perf_counter()
    page.goto(url)
    page.wait_for_selector(selector, state="attached")
    wall = time.perf_counter() - start
    in_page = page.evaluate("performance.now()") / 1000
    return wall, in_page


def median_of(count, measure):
    """Load once to warm the agent's and Chromium's caches (reported as
    "cold"), then `count` times; the median is held to the limit, so one
    run slowed by a busy machine does not decide."""
    cold = measure()
    runs = sorted((measure() for _ in range(count)), key=lambda run: run[0])
    return runs[len(runs) // 2], runs, cold


def report(name, median, runs, cold):
    figures[name] = {"median_s": round(median[0], 3), "median_in_page_s": round(median[1], 3),
                     "runs_s": [round(run[0], 3) for run in runs], "cold_s": round(cold[0], 3)}
    print(f"\n{name}: median {median[0] * 1000:.0f} ms (runs {[round(run[0] * 1000) for run in runs]} ms, cold {cold[0] * 1000:.0f} ms)")


def test_a_10000_span_trace_opens_in_under_2_seconds(loaded_agent, open_page):
    page, _ = open_page(loaded_agent)
    url = f"/#/trace/{hex_trace_id(loaded_agent.big)}"
    median, runs, cold = median_of(3, lambda: timed_load(page, url, "canvas.timeline[data-drawn='flame']"))
    report("trace_10000_spans", median, runs, cold)
    assert page.locator("canvas.timeline").get_attribute("data-spans") == "10000"
    assert page.locator(".span-count").inner_text() == "10,000 spans"
    screenshot(page, "trace-10000-spans")
    assert median[0] < TRACE_LIMIT_S


def test_services_page_with_200_services_and_a_day_of_data_renders_in_under_1_second(loaded_agent, open_page):
    page, _ = open_page(loaded_agent)
    median, runs, cold = median_of(3, lambda: timed_load(page, "/#/services?range=1d", "#view[data-ready='services']"))
    report("services_200_a_day", median, runs, cold)
    assert page.locator("tbody tr[data-service]").count() >= 200
    screenshot(page, "services-200")
    assert median[0] < SERVICES_LIMIT_S
