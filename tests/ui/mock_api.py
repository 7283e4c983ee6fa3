"""A stand-in for ctrace-agent, for developing the UI only.

It serves agent/ui/ at / and answers the query API of docs/query-api.md
from spans POSTed to /v0.4/traces (msgpack), all in memory. The committed
tests run against the real ctrace-agent; this exists so the UI could be
written before the agent answered, and to compare the two when they differ.

    python tests/ui/mock_api.py --port 8137
"""

import argparse
import json
import math
import mimetypes
import pathlib
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import msgpack

UI_DIR = pathlib.Path(__file__).resolve().parents[2] / "agent" / "ui"
CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".json": "application/json"}


class Store:
    def __init__(self):
        self.lock = threading.Lock()
        self.traces = {}  # trace id hex -> list of span dicts (API shape)
        self.arrival = []  # (sequence, trace id)

    def add(self, payload):
        with self.lock:
            for chunk in payload:
                for raw in chunk:
                    span = api_span(raw)
                    self.traces.setdefault(span["trace_id"], []).append(span)
                    self.arrival.append(span["trace_id"])

    def summaries(self):
        with self.lock:
            return [summary(trace_id, spans) for trace_id, spans in self.traces.items()]


def hex_id(value, digits):
    return format(int(value) & ((1 << (4 * digits)) - 1), f"0{digits}x")


def api_span(raw):
    meta = {str(k): str(v) for k, v in (raw.get("meta") or {}).items()}
    high = int(meta.get("_dd.p.tid", "0"), 16)
    trace_id = format((high << 64) | int(raw["trace_id"]), "032x")
    parent = int(raw.get("parent_id") or 0)
    return {
        "trace_id": trace_id, "span_id": hex_id(raw["span_id"], 16),
        "parent_id": hex_id(parent, 16) if parent else None,
        "name": raw.get("name", ""), "service": raw.get("service", ""), "resource": raw.get("resource", raw.get("name", "")),
        "type": raw.get("type", ""), "start_ns": int(raw["start"]), "duration_ns": int(raw["duration"]),
        "error": int(raw.get("error") or 0), "meta": meta, "metrics": dict(raw.get("metrics") or {}),
        "span_links": [{"trace_id": format((int(link.get("trace_id_high", 0)) << 64) | int(link["trace_id"]), "032x"),
                        "span_id": hex_id(link["span_id"], 16), "attributes": link.get("attributes", {}),
                        "tracestate": link.get("tracestate", ""), "flags": link.get("flags", 0)}
                       for link in raw.get("span_links") or []], "span_events": [],
        "top_level": parent == 0 or (raw.get("metrics") or {}).get("_dd.top_level") == 1,
    }


def summary(trace_id, spans):
    spans = sorted(spans, key=lambda span: span["start_ns"])
    ids = {span["span_id"] for span in spans}
    root = next((span for span in spans if span["parent_id"] is None or span["parent_id"] not in ids), spans[0])
    start = spans[0]["start_ns"]
    end = max(span["start_ns"] + span["duration_ns"] for span in spans)
    return {"trace_id": trace_id, "service": root["service"], "resource": root["resource"], "name": root["name"],
            "start_us": root["start_ns"] // 1000, "duration_ns": max(root["duration_ns"], end - start) if root["parent_id"] is None else end - start,
            "error": int(any(span["error"] for span in spans)), "span_count": len(spans), "_spans": spans}


def percentile(sorted_values, fraction):
    if not sorted_values:
        return 0
    return sorted_values[min(len(sorted_values) - 1, max(0, math.ceil(fraction * len(sorted_values)) - 1))]


def figures(hits_spans, start, end):
    durations = sorted(span["duration_ns"] for span in hits_spans)
    errors = sum(span["error"] for span in hits_spans)
    return {"hits": len(hits_spans), "errors": errors, "error_rate": errors / len(hits_spans) if hits_spans else 0,
            "rps": len(hits_spans) / max(1, end - start), "p50_ns": percentile(durations, 0.5),
            "p95_ns": percentile(durations, 0.95), "p99_ns": percentile(durations, 0.99)}


def series(hits_spans, start, end, step):
    buckets = {}
    for span in hits_spans:
        buckets.setdefault(int((span["start_ns"] / 1e9 - start) // step), []).append(span)
    points = []
    for index in range(int(math.ceil((end - start) / step))):
        spans = buckets.get(index, [])
        f = figures(spans, 0, 1)
        points.append({"t": start + index * step, "hits": f["hits"], "errors": f["errors"],
                       "p50_ns": f["p50_ns"], "p95_ns": f["p95_ns"], "p99_ns": f["p99_ns"]})
    return points


class Handler(BaseHTTPRequestHandler):
    store = Store()

    def log_message(self, *args):
        pass

    def reply(self, status, body, content_type="application/json; charset=utf-8"):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_PUT(self):
        self.do_POST()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path.startswith("/v0.4/traces"):
            self.store.add(msgpack.unpackb(body, raw=False, strict_map_key=False))
            return self.reply(200, {"rate_by_service": {}})
        self.reply(404, {"error": "not found"})

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        if url.path.startswith("/api/v1/"):
            try:
                return self.api(url.path[len("/api/v1/"):], query)
            except LookupError as error:
                return self.reply(404, {"error": str(error)})
        name = "index.html" if url.path == "/" else url.path.lstrip("/")
        path = UI_DIR / name
        if "/" in name or not path.is_file():
            return self.reply(404, {"error": "not found"})
        self.reply(200, path.read_bytes(), CONTENT_TYPES.get(path.suffix, mimetypes.guess_type(name)[0] or "application/octet-stream"))

    def api(self, path, query):
        one = lambda key, default=None: query.get(key, [default])[0]
        end = float(one("end", time.time()))
        start = float(one("start", end - 3600))
        step = max(1, math.ceil((end - start) / 60))
        traces = self.store.summaries()
        hits = [span for trace in traces for span in trace["_spans"]
                if span["top_level"] and start <= span["start_ns"] / 1e9 < end]
        parts = [urllib.parse.unquote(part) for part in path.split("/")]
        if parts == ["services"]:
            by_service = {}
            for span in hits:
                by_service.setdefault(span["service"], []).append(span)
            return self.reply(200, {"start": start, "end": end, "step": step, "services": [
                {"service": name, **figures(spans, start, end), "series": series(spans, start, end, step)}
                for name, spans in sorted(by_service.items())]})
        if len(parts) == 3 and parts[0] == "services" and parts[2] == "resources":
            by_resource = {}
            for span in hits:
                if span["service"] == parts[1]:
                    by_resource.setdefault(span["resource"], []).append(span)
            return self.reply(200, {"service": parts[1], "start": start, "end": end, "step": step, "resources": [
                {"resource": name, "name": spans[0]["name"], **figures(spans, start, end), "series": series(spans, start, end, step)}
                for name, spans in sorted(by_resource.items())]})
        if parts == ["latency"]:
            spans = [span for span in hits if span["service"] == one("service") and one("resource") in (None, span["resource"])]
            counts = {}
            for span in spans:
                index = int(math.log2(max(span["duration_ns"], 1)) * 4)
                counts[index] = counts.get(index, 0) + 1
            return self.reply(200, {"buckets": [{"lower_ns": int(2 ** (i / 4)), "upper_ns": int(2 ** ((i + 1) / 4)), "count": c}
                                                 for i, c in sorted(counts.items())], **{k: v for k, v in figures(spans, 0, 1).items() if k.startswith("p")}, "count": len(spans)})
        if parts == ["traces"]:
            return self.reply(200, self.search(traces, query, start, end))
        if len(parts) == 2 and parts[0] == "traces":
            wanted = parts[1].lower()
            for trace in traces:
                if wanted in (trace["trace_id"], trace["trace_id"][16:]) or (wanted.isdigit() and int(wanted) in (int(trace["trace_id"], 16), int(trace["trace_id"][16:], 16))):
                    spans = trace["_spans"]
                    first = spans[0]["start_ns"]
                    return self.reply(200, {"trace_id": trace["trace_id"], "start_us": first // 1000, "duration_ns": trace["duration_ns"],
                                            "span_count": len(spans), "spans": [public(span, first) for span in spans]})
            raise LookupError("trace not found")
        if parts == ["tail"]:
            after = int(one("after") or 0)
            with self.store.lock:
                fresh = list(dict.fromkeys(reversed(self.store.arrival[after:])))
                cursor = str(len(self.store.arrival))
            by_id = {trace["trace_id"]: trace for trace in traces}
            limit = int(one("limit", 100))
            return self.reply(200, {"traces": [strip(by_id[i]) for i in fresh[:limit]], "cursor": cursor})
        if parts == ["operations"]:
            spans = [span for trace in traces for span in trace["_spans"] if span["service"] == one("service")]
            return self.reply(200, {"service": one("service"), "names": sorted({s["name"] for s in spans}),
                                    "resources": sorted({s["resource"] for s in spans})})
        raise LookupError("no such endpoint")

    def search(self, traces, query, start, end):
        one = lambda key: query.get(key, [None])[0]
        results = []
        for trace in sorted(traces, key=lambda trace: -trace["start_us"]):
            if not start <= trace["start_us"] / 1e6 < end:
                continue
            if any(one(key) and trace[key] != one(key) for key in ("service", "resource", "name")):
                continue
            if one("min_duration_ns") and trace["duration_ns"] < int(one("min_duration_ns")):
                continue
            if one("max_duration_ns") and trace["duration_ns"] > int(one("max_duration_ns")):
                continue
            if one("error") == "1" and not trace["error"]:
                continue
            tags = [tag.split(":", 1) for tag in query.get("tag", [])]
            if not all(any(span["meta"].get(k) == v for span in trace["_spans"]) for k, v in tags):
                continue
            results.append(strip(trace))
        offset = int(one("cursor") or 0)
        limit = min(1000, int(one("limit") or 50))
        page = results[offset:offset + limit]
        return {"traces": page, "next_cursor": str(offset + limit) if offset + limit < len(results) else None}


def strip(trace):
    return {k: v for k, v in trace.items() if not k.startswith("_")}


def public(span, first):
    result = {k: v for k, v in span.items() if k not in ("start_ns", "top_level")}
    result["start_us"] = span["start_ns"] // 1000
    result["offset_ns"] = span["start_ns"] - first
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8137)
    arguments = parser.parse_args()
    ThreadingHTTPServer(("127.0.0.1", arguments.port), Handler).serve_forever()
