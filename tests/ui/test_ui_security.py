"""Values from spans are shown as text and never run, and the page talks to
no origin but the agent's. (conftest's teardown also fails any test whose
page opened a dialog or requested another origin.)"""

import json
from urllib.parse import quote

from ui_support import screenshot, visit, wait_ready
from ui_trace_data import XSS_SERVICE, XSS_TAG, hex_trace_id

PAGES = [("/#/services", "services"), ("/#/service/checkout", "service"), ("/#/search?service=pager", "search"), ("/#/live", "live")]


def assert_inert(page):
    """No element came out of a payload, and no payload ran."""
    assert page.locator("main img, main script, main iframe, main object").count() == 0
    assert page.evaluate("window.__ctraceXss === undefined")


def test_tag_values_and_resources_show_as_text(agent, open_page):
    page, recorder = open_page(agent)
    xss = agent.data["xss"]
    visit(page, f"/#/trace/{hex_trace_id(xss)}", "trace")
    assert page.locator("h1").inner_text() == f"GET /search?q={XSS_TAG}"
    page.locator("canvas.timeline").focus()
    page.keyboard.press("Enter")
    detail = page.locator("aside.detail")
    tags = dict(row.split("\t", 1) for row in detail.locator("table.meta tr").all_inner_texts())
    assert tags["xss.tag"] == XSS_TAG
    assert tags["quote"] == "\"'<>&"
    assert XSS_TAG in detail.locator(".error-box").inner_text()
    assert_inert(page)
    screenshot(page, "xss-trace")
    # The service name as the agent stored it (the agent normalizes service
    # names like Datadog does) is shown verbatim too.
    stored = page.evaluate(f"fetch('/api/v1/traces/{hex_trace_id(xss)}').then(r => r.json())")
    service = stored["spans"][0]["service"]
    assert detail.locator(".service-link").inner_text() == service


def test_search_results_show_payloads_as_text(agent, open_page):
    page, _ = open_page(agent)
    visit(page, f"/#/search?tag=xss.tag:{XSS_TAG.replace(' ', '%20')}", "search")
    assert page.locator("table.traces tbody tr[data-trace-id]").count() == 1
    assert XSS_TAG in page.locator("table.traces").inner_text()
    assert_inert(page)


def test_a_service_named_with_quotes_and_angle_brackets_stays_text(agent, open_page):
    """The agent normalizes such names away, so the API's answers are given
    the raw name here: the UI must not rely on the agent to be safe."""
    page, _ = open_page(agent)

    def with_hostile_service(route):
        response = route.fetch()
        body = response.json()
        for collection in ("services", "traces"):
            for item in body.get(collection, []):
                item["service"] = XSS_SERVICE
        for span in body.get("spans", []):
            span["service"] = XSS_SERVICE
            span["name"] = XSS_TAG
        route.fulfill(response=response, body=json.dumps(body))

    page.route("**/api/v1/**", with_hostile_service)
    visit(page, "/#/services", "services")
    assert XSS_SERVICE in page.locator("table.data").inner_text()
    assert page.locator(f"tr[data-service='{XSS_SERVICE.replace(chr(39), '')}']").count() >= 1
    visit(page, f"/#/service/{quote(XSS_SERVICE, safe='')}", "service")
    assert page.locator("h1").inner_text().strip() == XSS_SERVICE
    visit(page, f"/#/trace/{hex_trace_id(agent.data['tree'])}", "trace")
    page.locator("canvas.timeline").focus()
    page.keyboard.press("Enter")
    assert page.locator("aside.detail h2").inner_text() == XSS_TAG
    assert_inert(page)


def test_no_request_leaves_the_agent_origin(agent, open_page):
    page, recorder = open_page(agent)
    for url, ready in [*PAGES, (f"/#/trace/{hex_trace_id(agent.data['tree'])}", "trace")]:
        visit(page, url, ready)
    page.wait_for_timeout(500)
    assert recorder.requests, "no request recorded"
    assert all(url.startswith(agent.base_url + "/") for url in recorder.requests), recorder.foreign_requests(agent.base_url)


def test_trace_comparison_shows_hostile_names_as_text(agent, open_page):
    page, _ = open_page(agent)
    xss, tree = agent.data["xss"], agent.data["tree"]
    visit(page, f"/#/compare/{hex_trace_id(xss)}/{hex_trace_id(tree)}", "compare")
    # names reach it as the agent normalized them: shown verbatim, inert
    stored = page.evaluate(f"fetch('/api/v1/traces/{hex_trace_id(xss)}').then(r => r.json())")
    first = page.locator("table.compare tbody tr td").first.inner_text()
    assert first == "%s %s" % (stored["spans"][0]["service"], stored["spans"][0]["name"])
    kinds = page.locator("table.compare tbody tr").evaluate_all("rows => rows.map(r => r.dataset.kind)")
    assert set(kinds) == {"removed", "added"}   # nothing in common
    assert_inert(page)
