"""Each page of the explorer loads without errors, shows the agent's data and
is usable from the keyboard; screenshots go to build/ui/."""

import re

from ui_support import screenshot, visit, wait_ready
from ui_trace_data import hex_trace_id


def test_services_page_lists_every_service_with_its_figures(agent, open_page):
    page, _ = open_page(agent)
    visit(page, "/#/services", "services")
    rows = page.locator("tbody tr[data-service]")
    services = set(rows.evaluate_all("rows => rows.map(row => row.dataset.service)"))
    assert {"checkout", "postgres", "redis", "pager"} <= services
    checkout = page.locator("tr[data-service='checkout']")
    cells = checkout.locator("td").all_inner_texts()
    assert re.search(r"/(s|min)$", cells[1]), cells  # requests per second
    assert cells[2].endswith("%")  # error rate
    assert all(re.search(r"\d+(\.\d+)? (ns|µs|ms|s)$", cell) for cell in cells[3:6]), cells
    assert checkout.locator("svg.sparkline").count() == 2
    screenshot(page, "services")


def test_services_sort_by_a_column_and_keep_it_in_the_url(agent, open_page):
    page, _ = open_page(agent)
    visit(page, "/#/services", "services")
    page.get_by_role("button", name="p99").click()
    assert "sort=p99_ns" in page.url and "dir=desc" in page.url
    names = page.locator("tbody tr[data-service]").evaluate_all("rows => rows.map(row => row.dataset.service)")
    page.get_by_role("button", name="Service").click()
    page.get_by_role("button", name="Service").click()
    ascending = page.locator("tbody tr[data-service]").evaluate_all("rows => rows.map(row => row.dataset.service)")
    assert ascending == sorted(names, key=lambda name: name.lower()) or ascending == sorted(names)
    assert page.locator("th[aria-sort='ascending']").inner_text().startswith("Service")


def test_keyboard_slash_filters_and_enter_opens_a_service(agent, open_page):
    page, _ = open_page(agent)
    visit(page, "/#/services", "services")
    page.keyboard.press("/")
    page.keyboard.type("checko")
    assert page.locator("tbody tr[data-service]:not([hidden])").count() == 1
    page.locator("tr[data-service='checkout']").focus()
    page.keyboard.press("Enter")
    wait_ready(page, "service")
    assert page.url.endswith("#/service/checkout")


def test_service_page_shows_resources_charts_and_traces(agent, open_page):
    page, _ = open_page(agent)
    visit(page, "/#/service/checkout", "service")
    resources = page.locator("table.data").first.locator("tbody tr").all_inner_texts()
    assert any("POST /cart" in row for row in resources) and any("POST /pay" in row for row in resources)
    assert page.locator(".chart-box svg.chart").count() == 3
    assert page.locator(".chart-box h3", has_text="Latency distribution").count() == 1
    # Erroring traces list the failed payment; the slowest list starts with the slowest trace.
    erroring = page.locator("section", has=page.get_by_role("heading", name=re.compile("Erroring traces")))
    assert "POST /pay" in erroring.inner_text()
    slowest = page.locator("section", has=page.get_by_role("heading", name=re.compile("Slowest traces")))
    assert "GET /report" in slowest.locator("tbody tr").first.inner_text()
    screenshot(page, "service")


def test_breadcrumbs_lead_from_a_trace_back_to_its_service(agent, open_page):
    page, _ = open_page(agent)
    visit(page, f"/#/trace/{hex_trace_id(agent.data['tree'])}", "trace")
    page.locator("nav.breadcrumbs").get_by_role("link", name="checkout").click()
    wait_ready(page, "service")
    assert page.url.endswith("#/service/checkout")


def test_live_page_shows_a_trace_sent_after_it_opened(agent, open_page):
    from ui_trace_data import simple_trace
    import time

    page, _ = open_page(agent)
    visit(page, "/#/live", "live")
    marker = f"GET /live/{time.time_ns()}"
    agent.send([simple_trace(service="live-service", resource=marker, start_ns=time.time_ns() - 10**9)])
    page.locator("tbody tr", has_text=marker).wait_for(timeout=10_000)
    screenshot(page, "live")


def test_live_page_resumed_during_a_poll_keeps_one_poll_in_flight(agent, open_page):
    """Pause then Resume while a poll waits for its answer: the resumed page
    must not start a second poll beside it (two loops would each prepend the
    same traces and poll twice as often from then on)."""
    page, _ = open_page(agent)
    held = []
    page.route("**/api/v1/tail*", lambda route: held.append(route))  # answered below
    with page.expect_request("**/api/v1/tail*"):
        page.goto("/#/live")
    page.get_by_role("button", name="Pause").click()
    page.get_by_role("button", name="Resume").click()
    page.wait_for_timeout(500)
    assert len(held) == 1, "a second poll started while the first was in flight"
    held[0].continue_()
    page.unroute("**/api/v1/tail*")
    wait_ready(page, "live")


def test_long_names_do_not_break_the_layout(agent, open_page):
    from ui_trace_data import simple_trace
    import time

    long_resource = "GET /" + "very-long-segment/" * 40
    agent.send([simple_trace(service="long-names", resource=long_resource, start_ns=time.time_ns() - 5 * 10**9)])
    page, _ = open_page(agent, viewport=(1280, 800))
    visit(page, "/#/service/long-names", "service")
    cell = page.locator("table.data").first.locator("tbody tr").first.locator(".clip").first
    assert cell.get_attribute("title") == long_resource
    assert cell.evaluate("element => element.scrollWidth > element.clientWidth")  # cut with an ellipsis
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280


def test_unknown_trace_says_not_found(agent, open_page, request):
    request.node.expected_console_errors = 1  # the browser logs the 404 of the API call
    page, _ = open_page(agent)
    page.goto("/#/trace/0123456789abcdef")
    page.get_by_role("heading", name="Trace not found").wait_for()
