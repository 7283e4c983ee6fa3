"""How fast the trace explorer opens, in headless Chromium against a real
ctrace-agent: a 10,000-span trace (navigation to the flame graph drawn) and
the services page with 200 services and a day of data (navigation to the
table rendered). Prints one JSON object.

    python bench/bench_ui.py [--runs 5]

The agent is found like the UI tests find it (CTRACE_AGENT, next to python,
or build/agent/agent/ctrace-agent); Chromium is Debian's /usr/bin/chromium.
"""

import argparse
import json
import pathlib
import statistics
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests" / "ui"))

from playwright.sync_api import sync_playwright  # noqa: E402

from ui_support import CHROMIUM, RunningAgent  # noqa: E402
from ui_trace_data import big_trace, day_of_services, hex_trace_id  # noqa: E402


def load_times(page, url, selector, runs):
    times = []
    for _ in range(runs + 1):  # the first load warms the caches and is not counted
        page.goto("about:blank")
        start = time.perf_counter()
        page.goto(url)
        page.wait_for_selector(selector, state="attached")
        times.append(time.perf_counter() - start)
    return {"cold_ms": round(times[0] * 1000), "median_ms": round(statistics.median(times[1:]) * 1000),
            "min_ms": round(min(times[1:]) * 1000), "max_ms": round(max(times[1:]) * 1000)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="3 runs instead of --runs")
    arguments = parser.parse_args()
    if arguments.quick:
        arguments.runs = 3
    with tempfile.TemporaryDirectory() as data_dir:
        agent = RunningAgent(pathlib.Path(data_dir))
        try:
            trace = big_trace(10_000)
            agent.send([trace])
            agent.send(day_of_services(200, 48))
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                results = {
                    "trace_10000_spans": load_times(page, f"{agent.base_url}/#/trace/{hex_trace_id(trace)}",
                                                    "canvas.timeline[data-drawn='flame']", arguments.runs),
                    "services_200_a_day": load_times(page, f"{agent.base_url}/#/services?range=1d",
                                                     "#view[data-ready='services']", arguments.runs),
                }
                browser.close()
        finally:
            agent.stop()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
