"""Trace search: every filter narrows the results, the URL holds the query,
results page through next_cursor, and the scatter plot shows each result."""

from playwright.sync_api import expect

from ui_support import forget_ready, screenshot, visit, wait_ready


def result_resources(page):
    return page.locator("table.traces tbody tr[data-trace-id]").evaluate_all(
        "rows => rows.map(row => row.children[2].innerText)")


def search(page, url):
    visit(page, url, "search")
    return result_resources(page)


def test_search_by_service_fills_list_and_scatter_plot(agent, open_page):
    page, _ = open_page(agent)
    resources = search(page, "/#/search?service=checkout")
    assert sorted(resources) == ["GET /report", "POST /cart", "POST /pay"]
    assert page.locator("svg.scatter circle.point").count() == 3
    assert page.locator("svg.scatter circle.point.error").count() == 1
    screenshot(page, "search")


def test_search_form_writes_the_query_into_the_url(agent, open_page):
    page, _ = open_page(agent)
    visit(page, "/#/search", "search")
    page.locator("select[name=service]").select_option("checkout")
    page.locator("input[name=min]").fill("5ms")
    page.get_by_label("Errors only").check()
    forget_ready(page)
    page.get_by_role("button", name="Search").click()
    wait_ready(page, "search")
    assert "service=checkout" in page.url and "min=5ms" in page.url and "error=1" in page.url
    assert result_resources(page) == ["POST /pay"]
    # The same URL, opened afresh, gives the same search.
    url = page.url
    page.goto("about:blank")
    visit(page, url, "search")
    assert result_resources(page) == ["POST /pay"]
    assert page.locator("input[name=min]").input_value() == "5ms"


def test_search_by_resource_and_operation(agent, open_page):
    page, _ = open_page(agent)
    assert search(page, "/#/search?service=checkout&resource=POST%20%2Fcart") == ["POST /cart"]
    assert search(page, "/#/search?name=http.request&service=checkout") == ["POST /cart"]


def test_search_by_tags_requires_every_tag(agent, open_page):
    page, _ = open_page(agent)
    assert search(page, "/#/search?tag=customer.tier:gold") == ["POST /cart"]
    # A tag on a child span finds the trace too.
    assert search(page, "/#/search?tag=redis.key:cart:42") == ["POST /cart"]
    acme = search(page, "/#/search?service=pager&tag=tenant:acme&tag=page.index:7")
    assert acme == ["GET /page/1"]
    assert search(page, "/#/search?service=pager&tag=tenant:globex&tag=page.index:7") == []


def test_search_by_duration_range(agent, open_page):
    page, _ = open_page(agent)
    assert search(page, "/#/search?min=500ms") == ["GET /report"]
    # pager traces last (i + 1) * 100 µs: 1 ms to 1.5 ms is i = 9 .. 14.
    assert len(search(page, "/#/search?service=pager&min=1ms&max=1.5ms")) == 6


def test_search_pages_through_results(agent, open_page):
    page, _ = open_page(agent)
    search(page, "/#/search?service=pager&range=1h")
    rows = page.locator("table.traces tbody tr[data-trace-id]")
    assert rows.count() == 100
    page.get_by_role("button", name="Load 100 more").click()
    expect(rows).to_have_count(130)
    assert page.get_by_role("button", name="Load 100 more").count() == 0
    ids = rows.evaluate_all("rows => rows.map(row => row.dataset.traceId)")
    assert len(set(ids)) == 130
    assert page.locator("svg.scatter circle.point").count() == 130


def test_a_result_opens_its_trace_from_the_keyboard(agent, open_page):
    page, _ = open_page(agent)
    search(page, "/#/search?service=checkout&resource=POST%20%2Fpay")
    page.locator("table.traces tbody tr[data-trace-id]").first.focus()
    page.keyboard.press("Enter")
    wait_ready(page, "trace")
    assert "#/trace/" in page.url


def test_a_bad_duration_is_explained(agent, open_page):
    page, _ = open_page(agent)
    page.goto("/#/search?min=fast")
    page.get_by_text('"fast" is not a duration').wait_for()
