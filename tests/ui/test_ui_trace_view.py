"""Trace view: the span count, the tree, the span detail with its tags, ids,
error and links, the two views, zoom and the keyboard."""

from ui_support import screenshot, visit, wait_ready
from ui_trace_data import hex_trace_id, make_span, new_id, tree_trace

AXIS_HEIGHT = 22
WATERFALL_ROW = 22
FLAME_ROW = 20


def open_trace(page, spans, query=""):
    visit(page, f"/#/trace/{hex_trace_id(spans)}{query}", "trace")
    return page.locator("canvas.timeline")


def detail_title(page):
    return page.locator("aside.detail h2").inner_text()


def click_waterfall_row(page, index):
    page.locator("canvas.timeline").click(position={"x": 60, "y": AXIS_HEIGHT + index * WATERFALL_ROW + WATERFALL_ROW / 2})


def test_flame_graph_is_the_default_and_shows_the_span_count(agent, open_page):
    page, _ = open_page(agent)
    canvas = open_trace(page, agent.data["tree"])
    assert canvas.get_attribute("data-drawn") == "flame"
    assert canvas.get_attribute("data-spans") == "4"
    assert page.locator(".span-count").inner_text() == "4 spans"
    assert page.locator(".legend-list").inner_text().split() == ["postgres", "2", "checkout", "1", "redis", "1"]
    screenshot(page, "trace-flame")


def test_opening_a_trace_needs_no_other_page(agent, open_page):
    """What pages share (colour chip, sparklines) has modules of its own: with
    every other page's module failing to evaluate, a trace still opens (the
    other pages' idle preloads fail quietly)."""
    page, _ = open_page(agent)
    for other in ("page_services", "page_service", "page_search", "page_compare", "page_live"):
        page.route(f"**/{other}.js", lambda route: route.fulfill(
            status=200, content_type="text/javascript", body="throw new Error('not the trace page');"))
    canvas = open_trace(page, agent.data["tree"])
    assert canvas.get_attribute("data-spans") == "4"
    assert page.locator(".chip").count() > 0


def test_waterfall_lists_spans_depth_first_under_their_parents(agent, open_page):
    page, _ = open_page(agent)
    tree = agent.data["tree"]
    open_trace(page, tree, "?view=waterfall")
    expected = [("http.request", None), ("postgres.query", "http.request"),
                ("postgres.connect", "postgres.query"), ("redis.command", "http.request")]
    ids = {span["name"]: format(span["span_id"], "016x") for span in tree}
    for row, (name, parent) in enumerate(expected):
        click_waterfall_row(page, row)
        assert detail_title(page) == name
        parent_field = page.locator("dl.fields dt", has_text="Parent ID").locator("xpath=following-sibling::dd[1]").inner_text()
        assert (ids[parent] in parent_field) if parent else parent_field == "none (root)"
    screenshot(page, "trace-waterfall")


def test_clicking_a_span_shows_all_its_tags_metrics_and_ids(agent, open_page):
    page, _ = open_page(agent)
    tree = agent.data["tree"]
    canvas = open_trace(page, tree)
    box = canvas.bounding_box()
    canvas.click(position={"x": box["width"] / 2, "y": AXIS_HEIGHT + FLAME_ROW / 2})
    detail = page.locator("aside.detail")
    assert detail_title(page) == "http.request"
    tags = dict(row.split("\t", 1) for row in detail.locator("table.meta tr").all_inner_texts())
    assert tags["customer.tier"] == "gold" and tags["http.method"] == "POST"
    metrics = dict(row.split("\t", 1) for row in detail.locator("table.metrics tr").all_inner_texts())
    assert float(metrics["cart.items"]) == 3
    text = detail.inner_text()
    assert hex_trace_id(tree) in text and hex_trace_id(tree).startswith("6789abcd00001234")
    assert format(tree[0]["span_id"], "016x") in text
    assert "POST /cart" in text and "web" in text  # resource and type
    assert f"span={format(tree[0]['span_id'], '016x')}" in page.url
    screenshot(page, "trace-detail")


def test_escape_closes_the_detail_and_the_url_keeps_the_selected_span(agent, open_page):
    page, _ = open_page(agent)
    tree = agent.data["tree"]
    query_id = format(tree[1]["span_id"], "016x")
    open_trace(page, tree, f"?span={query_id}")
    assert detail_title(page) == "postgres.query"
    page.keyboard.press("Escape")
    assert page.locator("aside.detail").is_hidden()
    assert "span=" not in page.url


def test_keyboard_walks_the_tree(agent, open_page):
    page, _ = open_page(agent)
    canvas = open_trace(page, agent.data["tree"])
    canvas.focus()
    page.keyboard.press("Enter")
    assert detail_title(page) == "http.request"
    page.keyboard.press("ArrowDown")
    assert detail_title(page) == "postgres.query"
    page.keyboard.press("ArrowDown")
    assert detail_title(page) == "postgres.connect"
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowRight")
    assert detail_title(page) == "redis.command"


def test_error_type_message_and_stack_are_shown(agent, open_page):
    page, _ = open_page(agent)
    canvas = open_trace(page, agent.data["error"])
    canvas.focus()
    page.keyboard.press("Enter")
    error = page.locator("aside.detail .error-box")
    assert "PaymentDeclined" in error.inner_text() and "card declined" in error.inner_text()
    assert "File \"pay.py\", line 7" in error.locator("pre.stack").inner_text()


def test_span_links_lead_to_the_linked_span(agent, open_page):
    page, _ = open_page(agent)
    open_trace(page, agent.data["tree"], "?view=waterfall")
    click_waterfall_row(page, 3)
    assert detail_title(page) == "redis.command"
    links = page.locator("aside.detail ul.links")
    assert "reads what the query wrote" in links.inner_text()
    flags = links.locator("dt", has_text="Flags").locator("xpath=following-sibling::dd[1]").inner_text()
    assert flags == "01 (sampled)"   # W3C flags, not 2147483649
    links.get_by_role("button", name="show span").click()
    assert detail_title(page) == "postgres.query"


def click_waterfall_triangle(page, index, depth):
    # the triangle sits left of the row's service chip: 18 + 12 * depth
    page.locator("canvas.timeline").click(position={
        "x": 18 + 12 * depth - 8, "y": AXIS_HEIGHT + index * WATERFALL_ROW + WATERFALL_ROW / 2})


def test_waterfall_subtrees_collapse_and_expand(agent, open_page):
    page, _ = open_page(agent)
    tree = agent.data["tree"]
    canvas = open_trace(page, tree, "?view=waterfall")
    rows = lambda: canvas.get_attribute("data-rows")
    assert rows() == "4"
    click_waterfall_triangle(page, 0, 0)          # the root folds everything
    assert rows() == "1"
    click_waterfall_triangle(page, 0, 0)
    assert rows() == "4"
    click_waterfall_triangle(page, 1, 1)          # postgres.query hides connect
    assert rows() == "3"
    screenshot(page, "trace-waterfall-folded")
    click_waterfall_row(page, 2)                  # the row below is now redis
    assert detail_title(page) == "redis.command"
    click_waterfall_row(page, 1)
    page.keyboard.press("ArrowRight")             # unfold, as a tree view does
    assert rows() == "4" and detail_title(page) == "postgres.query"
    page.keyboard.press("ArrowLeft")              # fold
    assert rows() == "3"
    page.keyboard.press("ArrowLeft")              # folded: go to the parent
    assert detail_title(page) == "http.request"
    # a hidden span asked for by the URL is shown: its ancestors unfold
    connect_id = format(tree[2]["span_id"], "016x")
    open_trace(page, tree, f"?view=waterfall&span={connect_id}")
    assert detail_title(page) == "postgres.connect" and rows() == "4"


def test_zoom_and_reset(agent, open_page):
    page, _ = open_page(agent)
    canvas = open_trace(page, agent.data["tree"])
    before = canvas.screenshot()
    page.get_by_role("button", name="Zoom in").click()
    page.wait_for_timeout(100)
    zoomed = canvas.screenshot()
    page.get_by_role("button", name="Reset zoom").click()
    page.wait_for_timeout(100)
    assert zoomed != before
    assert canvas.screenshot() == before
    page.get_by_role("button", name="Waterfall").click()
    assert canvas.get_attribute("data-drawn") == "waterfall" and "view=waterfall" in page.url


CRITICAL_PATH = """async (traceId) => {
  const {buildTraceModel} = await import('/trace_model.js');
  const answer = await (await fetch(`/api/v1/traces/${traceId}`)).json();
  const model = buildTraceModel(answer);
  return model.criticalPath.map((s) => [s.span.name, s.start, s.end]).sort((a, b) => a[1] - b[1]);
}"""


def test_the_critical_path_is_what_the_trace_waited_on(agent, open_page):
    page, _ = open_page(agent)
    tree = agent.data["tree"]
    canvas = open_trace(page, tree, "?view=waterfall")
    ms = 1_000_000
    # the root waits on the query (itself waiting on connect), then on redis
    assert page.evaluate(CRITICAL_PATH, hex_trace_id(tree)) == [
        ["http.request", 0, 1 * ms], ["postgres.query", 1 * ms, 1.2 * ms],
        ["postgres.connect", 1.2 * ms, 1.7 * ms], ["postgres.query", 1.7 * ms, 4 * ms],
        ["http.request", 4 * ms, 5 * ms], ["redis.command", 5 * ms, 6 * ms],
        ["http.request", 6 * ms, 8 * ms]]
    assert canvas.get_attribute("data-critical") == "7"
    assert page.locator(".critical-hint").inner_text() == "critical path"


def slower_tree(start_ns):
    """The tree trace again, its query 4 ms slower and one more redis call."""
    spans = tree_trace(start_ns)
    root, query = spans[0], spans[1]
    trace_id = new_id()
    for span in spans:
        span["trace_id"] = trace_id
        span.pop("span_links", None)
    query["duration"] += 4_000_000
    root["duration"] += 4_000_000
    spans.append(make_span(trace_id, new_id(), root["span_id"], name="redis.command", service="redis",
                           resource="SET cart:42", start_ns=start_ns + 10_000_000, duration_ns=500_000,
                           span_type="cache", trace_id_high=0x6789ABCD00001234))
    return spans


def test_two_traces_compared_path_by_path(start_agent, open_page):
    agent = start_agent()
    import time
    start = time.time_ns() - 60 * 10**9
    a, b = tree_trace(start), slower_tree(start + 10**9)
    agent.send([a, b])
    page, _ = open_page(agent)
    open_trace(page, a)
    page.get_by_label("Trace ID to compare with").fill(hex_trace_id(b))
    page.get_by_role("button", name="Compare").click()
    wait_ready(page, "compare")
    rows = page.locator("table.compare tbody tr")
    by_path = {rows.nth(i).locator("td").first.inner_text(): (rows.nth(i).get_attribute("data-kind"),
               [td.inner_text() for td in rows.nth(i).locator("td").all()[1:3]])
               for i in range(rows.count())}
    assert by_path == {
        "checkout http.request": ("changed", ["1", "1"]),
        "postgres postgres.query": ("changed", ["1", "1"]),
        "postgres postgres.connect": ("same", ["1", "1"]),
        "redis redis.command": ("changed", ["1", "2"]),
    }
    assert "3 paths differ" in page.locator(".trace-summary").inner_text()
    screenshot(page, "trace-compare")
    # a count links to that side's span
    rows.nth(0).locator("td").nth(2).locator("a").click()
    wait_ready(page, "trace")
    assert hex_trace_id(b) in page.url
