"""The Map view (#/map) in real Chromium against a real agent: the services
and calls of stored traces drawn as an SVG graph, callers left of callees,
each call labelled with its rate, error rate and p95; a node opens its
service's page; hostile names stay text."""

import json
import re

from ui_support import screenshot, visit
from ui_trace_data import XSS_SERVICE, XSS_TAG


def node_box(page, service):
    return page.locator(f"svg.map a.map-node[data-service='{service}'] rect").bounding_box()


def test_map_shows_the_services_and_calls_of_stored_traces(agent, open_page):
    page, _ = open_page(agent)
    visit(page, "/#/map?range=1h", "map")
    services = set(page.locator("svg.map a.map-node").evaluate_all("nodes => nodes.map(n => n.dataset.service)"))
    # the explorer data's tree trace: checkout calls postgres and redis
    assert {"checkout", "postgres", "redis"} <= services
    edges = page.locator("svg.map g.map-edge").evaluate_all(
        "edges => edges.map(e => [e.dataset.from, e.dataset.to, e.querySelector('text').textContent])")
    by_pair = {(a, b): label for a, b, label in edges}
    assert ("checkout", "postgres") in by_pair and ("checkout", "redis") in by_pair
    # the query span took 3 ms: p95 within 1%
    label = by_pair[("checkout", "postgres")]
    match = re.search(r"· 0% err · p95 ([0-9.]+) ms$", label)
    assert match and abs(float(match.group(1)) - 3.0) <= 0.03, label
    assert ("checkout", "checkout") not in by_pair
    # layered left to right: the caller's column is left of its callees'
    assert node_box(page, "checkout")["x"] < node_box(page, "postgres")["x"]
    assert node_box(page, "postgres")["x"] == node_box(page, "redis")["x"]
    screenshot(page, "service-map")
    page.locator("svg.map a.map-node[data-service='postgres']").click()
    page.wait_for_url("**/#/service/postgres")
    page.wait_for_selector("#view[data-ready='service']")
    assert page.locator("h1").inner_text().strip() == "postgres"


def test_hostile_service_names_on_the_map_stay_text(agent, open_page):
    """The agent normalizes such names away, so the answer is given the raw
    names here: the UI must not rely on the agent to be safe."""
    page, _ = open_page(agent)

    def hostile(route):
        body = {"start": 0, "end": 3600, "step": 60, "truncated": False, "unresolved": 2,
                "nodes": [{"service": XSS_SERVICE, "hits": 3, "errors": 1},
                          {"service": XSS_TAG, "hits": 2, "errors": 0}],
                "edges": [{"from": XSS_SERVICE, "to": XSS_TAG, "calls": 2, "errors": 1, "rps": 0.5,
                           "error_rate": 0.5, "p50_ns": 1000, "p95_ns": 2000000, "p99_ns": 3000}]}
        route.fulfill(status=200, content_type="application/json", body=json.dumps(body))

    page.route("**/api/v1/servicemap**", hostile)
    visit(page, "/#/map", "map")
    names = page.locator("svg.map .map-node-name").all_text_contents()
    assert sorted(names) == sorted([XSS_SERVICE[:21] + "…", XSS_TAG[:21] + "…"])
    titles = page.locator("svg.map a.map-node title").all_text_contents()
    assert any(t.startswith(XSS_SERVICE + ":") for t in titles)
    assert "50% err" in page.locator("svg.map g.map-edge text").text_content()
    assert "2 calls from unknown parents" in page.locator("[role=status]").first.inner_text()
    assert page.locator("main img, main script, main iframe, main object, svg.map script").count() == 0
    assert page.evaluate("window.__ctraceXss === undefined")
