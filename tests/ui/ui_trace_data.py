"""Synthetic traces for the UI tests and the UI benchmark, and a sender that
POSTs them to an agent as Datadog v0.4 msgpack payloads."""

import itertools
import random
import time
import urllib.request

import msgpack

_ids = itertools.count(random.Random().randrange(1 << 40) | 1)


def new_id():
    """A fresh 64-bit id (unique within a test run)."""
    return (next(_ids) * 0x9E3779B97F4A7C15) & ((1 << 63) - 1) or 1


def make_span(trace_id, span_id, parent_id, *, name, service, resource, start_ns, duration_ns,
              error=0, meta=None, metrics=None, span_type="web", trace_id_high=None):
    meta = dict(meta or {})
    if trace_id_high:
        meta["_dd.p.tid"] = format(trace_id_high, "016x")
    return {
        "trace_id": trace_id, "span_id": span_id, "parent_id": parent_id,
        "name": name, "service": service, "resource": resource, "type": span_type,
        "start": int(start_ns), "duration": int(duration_ns), "error": error,
        "meta": meta, "metrics": dict(metrics or {}),
    }


def simple_trace(*, service="web", resource="GET /users", name="flask.request", start_ns=None,
                 duration_ns=5_000_000, error=0, meta=None, children=(), trace_id_high=None):
    """A root span plus one child per entry of `children`
    [(name, service, resource, offset_ns, duration_ns, meta)], all in one trace."""
    start_ns = start_ns or time.time_ns() - 60_000_000_000
    trace_id = new_id()
    root_id = new_id()
    spans = [make_span(trace_id, root_id, 0, name=name, service=service, resource=resource,
                       start_ns=start_ns, duration_ns=duration_ns, error=error, meta=meta,
                       metrics={"_dd.top_level": 1, "_sampling_priority_v1": 1}, trace_id_high=trace_id_high)]
    for child_name, child_service, child_resource, offset_ns, child_duration, child_meta in children:
        spans.append(make_span(trace_id, new_id(), root_id, name=child_name, service=child_service,
                               resource=child_resource, start_ns=start_ns + offset_ns, duration_ns=child_duration,
                               meta=child_meta, metrics={"_dd.top_level": 1} if child_service != service else {},
                               trace_id_high=trace_id_high))
    return spans


def big_trace(span_count=10_000, *, services=8, start_ns=None, seed=7):
    """A trace of `span_count` spans: a root fanning out into a tree of
    depth ~8 over several services, every child inside its parent's time."""
    rng = random.Random(seed)
    start_ns = start_ns or time.time_ns() - 120_000_000_000
    trace_id = new_id()
    root = make_span(trace_id, new_id(), 0, name="batch.run", service="svc-0", resource="nightly batch",
                     start_ns=start_ns, duration_ns=2_000_000_000, metrics={"_dd.top_level": 1})
    spans = [root]
    frontier = [(root, 0)]
    while len(spans) < span_count:
        parent, depth = frontier[rng.randrange(len(frontier))]
        if depth >= 8:
            continue
        width = parent["duration"] // rng.randint(2, 40)
        offset = rng.randrange(max(1, parent["duration"] - width))
        service = f"svc-{rng.randrange(services)}"
        child = make_span(trace_id, new_id(), parent["span_id"], name=rng.choice(["db.query", "http.request", "cache.get", "render"]),
                          service=service, resource=f"step {len(spans)}", start_ns=parent["start"] + offset,
                          duration_ns=max(1000, width), error=int(rng.random() < 0.01),
                          meta={"component": "synthetic", "index": str(len(spans))},
                          metrics={"_dd.top_level": 1} if service != parent["service"] else {})
        spans.append(child)
        frontier.append((child, depth + 1))
    return spans


def day_of_services(service_count=200, traces_per_service=48, *, end_ns=None, seed=3):
    """`service_count` services each with traces spread over the last 24 hours."""
    rng = random.Random(seed)
    end_ns = end_ns or time.time_ns() - 5_000_000_000
    day = 86_400 * 10**9
    traces = []
    for index in range(service_count):
        service = f"service-{index:03d}"
        for _ in range(traces_per_service):
            traces.append(simple_trace(service=service, resource=f"GET /endpoint/{rng.randrange(5)}",
                                       start_ns=end_ns - rng.randrange(day), duration_ns=rng.randint(200_000, 80_000_000),
                                       error=int(rng.random() < 0.05)))
    return traces


def send_traces(base_url, traces, spans_per_request=5_000):
    """POST traces (lists of span dicts) to /v0.4/traces, a few per request."""
    batch, batch_spans = [], 0
    for trace in traces:
        batch.append(trace)
        batch_spans += len(trace)
        if batch_spans >= spans_per_request:
            _post(base_url, batch)
            batch, batch_spans = [], 0
    if batch:
        _post(base_url, batch)


def _post(base_url, traces):
    request = urllib.request.Request(
        f"{base_url}/v0.4/traces", data=msgpack.packb(traces), method="POST",
        headers={"Content-Type": "application/msgpack", "X-Datadog-Trace-Count": str(len(traces))})
    with urllib.request.urlopen(request, timeout=60) as response:
        response.read()


XSS_TAG = "<img src=x onerror=alert(1)>"
XSS_SERVICE = 'we"b<script>alert(2)</script>'


def hex_trace_id(spans):
    """The 32-hex-digit id of a trace as the API shows it."""
    high = int(spans[0]["meta"].get("_dd.p.tid", "0"), 16)
    return format((high << 64) | spans[0]["trace_id"], "032x")


def tree_trace(start_ns):
    """checkout POST /cart -> [postgres db.query -> postgres.connect, redis cache.get],
    a 128-bit trace id, tags and metrics on the root, a span link from the
    cache span to the query span."""
    high = 0x6789ABCD00001234
    trace_id, root_id, query_id, connect_id, cache_id = (new_id() for _ in range(5))
    common = {"trace_id_high": high}
    root = make_span(trace_id, root_id, 0, name="http.request", service="checkout", resource="POST /cart",
                     start_ns=start_ns, duration_ns=8_000_000, span_type="web",
                     meta={"http.method": "POST", "http.status_code": "200", "customer.tier": "gold"},
                     metrics={"_dd.top_level": 1, "cart.items": 3}, **common)
    query = make_span(trace_id, query_id, root_id, name="postgres.query", service="postgres", resource="SELECT * FROM carts",
                      start_ns=start_ns + 1_000_000, duration_ns=3_000_000, span_type="sql",
                      meta={"db.system": "postgresql"}, metrics={"_dd.top_level": 1}, **common)
    connect = make_span(trace_id, connect_id, query_id, name="postgres.connect", service="postgres", resource="connect",
                        start_ns=start_ns + 1_200_000, duration_ns=500_000, span_type="sql", **common)
    cache = make_span(trace_id, cache_id, root_id, name="redis.command", service="redis", resource="GET cart:42",
                      start_ns=start_ns + 5_000_000, duration_ns=1_000_000, span_type="cache",
                      meta={"redis.key": "cart:42"}, metrics={"_dd.top_level": 1}, **common)
    # flags as Datadog tracers send them: bit 31 says "set", 01 is sampled
    cache["span_links"] = [{"trace_id": trace_id, "trace_id_high": high, "span_id": query_id,
                            "flags": (1 << 31) | 1,
                            "attributes": {"link.reason": "reads what the query wrote"}}]
    return [root, query, connect, cache]


def explorer_dataset(now_ns=None):
    """The functional tests' data: a known tree, an error with a stack, XSS
    payloads, a service with enough traces to page, and tags to search by."""
    now_ns = now_ns or time.time_ns()
    minute = 60 * 10**9
    tree = tree_trace(now_ns - 10 * minute)
    error = simple_trace(service="checkout", resource="POST /pay", start_ns=now_ns - 9 * minute, duration_ns=12_000_000, error=1,
                         meta={"error.type": "PaymentDeclined", "error.message": "card declined",
                               "error.stack": "Traceback (most recent call last):\n  File \"pay.py\", line 7, in pay\nPaymentDeclined: card declined"})
    xss = simple_trace(service=XSS_SERVICE, resource=f"GET /search?q={XSS_TAG}", start_ns=now_ns - 8 * minute,
                       meta={"xss.tag": XSS_TAG, "quote": "\"'<>&"}, error=1,
                       children=[("render", XSS_SERVICE, XSS_TAG, 1_000_000, 1_000_000, {"error.message": XSS_TAG})])
    xss[0]["meta"]["error.message"] = XSS_TAG
    pager = [simple_trace(service="pager", resource=f"GET /page/{i % 3}", start_ns=now_ns - 30 * minute + i * 10**9,
                          duration_ns=(i + 1) * 100_000, meta={"page.index": str(i), "tenant": "acme" if i % 2 else "globex"})
             for i in range(130)]
    slow = simple_trace(service="checkout", resource="GET /report", start_ns=now_ns - 7 * minute, duration_ns=900_000_000,
                        meta={"tenant": "acme"})
    traces = [tree, error, xss, slow, *pager]
    return {"traces": traces, "tree": tree, "error": error, "xss": xss, "slow": slow, "pager": pager}
