"""A service whose spans live only inside another service's traces (several
services in one process) gets its own Slowest and Erroring traces on its
service page, each row showing its own span; hostile names stay text."""

import re
import time

import pytest

from ui_support import screenshot, visit
from ui_trace_data import XSS_TAG, hex_trace_id, make_span, new_id


def gateway_trace(start_ns, ledger_ms, *, error=0, resource="post entry"):
    """gateway GET /checkout -> ledger <resource> (not a root: no chunk of its own)."""
    trace_id, root = new_id(), new_id()
    return [make_span(trace_id, root, 0, name="http.request", service="gateway", resource="GET /checkout",
                      start_ns=start_ns, duration_ns=200_000_000, metrics={"_dd.top_level": 1}),
            make_span(trace_id, new_id(), root, name="ledger.write", service="ledger", resource=resource,
                      start_ns=start_ns + 1000, duration_ns=ledger_ms * 1_000_000, error=error,
                      metrics={"_dd.top_level": 1})]


@pytest.fixture(scope="module")
def nested_agent(start_agent):
    running = start_agent()
    now = time.time_ns()
    running.traces = [gateway_trace(now - (60 + i) * 10**9, ledger_ms=5 + i) for i in range(12)]
    running.traces.append(gateway_trace(now - 30 * 10**9, ledger_ms=3, error=1, resource=XSS_TAG))
    running.send(running.traces)
    return running


def section(page, title):
    return page.locator("section", has=page.get_by_role("heading", name=re.compile(title)))


def test_a_nested_service_shows_its_slowest_and_erroring_traces(nested_agent, open_page):
    page, _ = open_page(nested_agent)
    visit(page, "/#/service/ledger", "service")
    slowest = section(page, "Slowest traces").locator("tbody tr")
    assert slowest.count() == 10
    # the rows are ledger's spans, longest first, and open the whole trace
    first = slowest.first
    assert "post entry" in first.inner_text() and "16" in first.inner_text()
    assert "GET /checkout" not in section(page, "Slowest traces").inner_text()
    longest = nested_agent.traces[11]
    assert first.get_attribute("data-trace-id") == hex_trace_id(longest)
    erroring = section(page, "Erroring traces")
    rows = erroring.locator("tbody tr")
    assert rows.count() == 1
    # the hostile resource is shown as text, not parsed as markup
    assert XSS_TAG in rows.first.inner_text()
    assert erroring.locator("img").count() == 0
    assert rows.first.get_attribute("data-trace-id") == hex_trace_id(nested_agent.traces[-1])
    screenshot(page, "service-nested")
    rows.first.click()
    page.wait_for_selector("#view[data-ready='trace']")
    assert page.url.endswith("#/trace/" + hex_trace_id(nested_agent.traces[-1]))


def test_search_by_a_nested_service_names_the_matching_span(nested_agent, open_page):
    page, _ = open_page(nested_agent)
    visit(page, "/#/search?service=ledger&error=1", "search")
    rows = page.locator("table.traces tbody tr")
    assert rows.count() == 1
    headers = page.locator("table.traces thead th").all_inner_texts()
    assert any(text.startswith("Matching span") for text in headers), headers
    text = rows.first.inner_text()
    # the row is the gateway trace; the match is ledger's erroring span
    assert "GET /checkout" in text and "ledger · ledger.write · 3" in text
    assert page.locator("table.traces img").count() == 0
