"""Distributed tracing over HTTP headers: ddtrace's ``HTTPPropagator``.

Styles (``DD_TRACE_PROPAGATION_STYLE``, ``..._INJECT``, ``..._EXTRACT``;
default ``datadog,tracecontext,baggage``): ``datadog`` (x-datadog-*),
``tracecontext`` (W3C traceparent/tracestate), ``b3multi`` (x-b3-*),
``b3`` (the single b3 header), ``baggage`` (W3C baggage), ``none``.

Header values are parsed and formatted by the C core
(src/core/propagation.c, through ``ddtrace._ctrace._prop_*``); this module
decides which style wins, as ddtrace does. Each style's extractor builds a
plain dict and a Context is made only from a fully valid one, so malformed
headers yield an empty Context, never a half-valid one, and never raise.
"""
import logging
import os
import urllib.parse
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

from ddtrace import _ctrace
from ddtrace._ctrace import Context, Span

log = logging.getLogger("ddtrace.propagation.http")

HTTP_HEADER_TRACE_ID = "x-datadog-trace-id"
HTTP_HEADER_PARENT_ID = "x-datadog-parent-id"
HTTP_HEADER_SAMPLING_PRIORITY = "x-datadog-sampling-priority"
HTTP_HEADER_ORIGIN = "x-datadog-origin"
_HTTP_HEADER_TAGS = "x-datadog-tags"
_HTTP_HEADER_B3_SINGLE = "b3"
_HTTP_HEADER_B3_TRACE_ID = "x-b3-traceid"
_HTTP_HEADER_B3_SPAN_ID = "x-b3-spanid"
_HTTP_HEADER_B3_SAMPLED = "x-b3-sampled"
_HTTP_HEADER_B3_FLAGS = "x-b3-flags"
_HTTP_HEADER_TRACEPARENT = "traceparent"
_HTTP_HEADER_TRACESTATE = "tracestate"
_HTTP_HEADER_BAGGAGE = "baggage"

PROPAGATION_STYLE_DATADOG = "datadog"
PROPAGATION_STYLE_B3_MULTI = "b3multi"
PROPAGATION_STYLE_B3_SINGLE = "b3"
_PROPAGATION_STYLE_W3C_TRACECONTEXT = "tracecontext"
_PROPAGATION_STYLE_BAGGAGE = "baggage"
_PROPAGATION_STYLE_NONE = "none"
_STYLES = (PROPAGATION_STYLE_DATADOG, PROPAGATION_STYLE_B3_MULTI, PROPAGATION_STYLE_B3_SINGLE,
           _PROPAGATION_STYLE_W3C_TRACECONTEXT, _PROPAGATION_STYLE_BAGGAGE)
_DEFAULT_STYLES = "datadog,tracecontext,baggage"
#: DD_TRACE_PROPAGATION_BEHAVIOR_EXTRACT: continue the upstream trace,
#: restart (a new trace linked to the upstream one, baggage kept) or ignore
#: the headers altogether.
_BEHAVIORS = ("continue", "restart", "ignore")

_MAX_UINT_64BITS = (1 << 64) - 1
_TRACESTATE_MAX_MEMBERS = 32
_LAST_DD_PARENT_ID_KEY = "_dd.parent_id"
_W3C_TRACEPARENT_KEY = "traceparent"
_W3C_TRACESTATE_KEY = "tracestate"
_PROPAGATION_ERROR_KEY = "_dd.propagation_error"
_EXTRACT_REJECTED_TAGS = frozenset(["_dd.p.upstream_services"])
_VALID_DECISIONS = frozenset("-%d" % i for i in range(256))


def _parse_styles(*names: str) -> List[str]:
    """The first of the environment variables that is set, as a style list
    (ddtrace also accepts "b3 single header" for b3)."""
    value = None
    for name in names:
        value = os.environ.get(name)
        if value is not None:
            break
    if value is None:
        value = _DEFAULT_STYLES
    styles = []
    for item in value.split(","):
        item = item.strip().lower()
        for style in [item] if item == "b3 single header" else item.split():
            style = PROPAGATION_STYLE_B3_SINGLE if style == "b3 single header" else style
            if style == _PROPAGATION_STYLE_NONE:
                continue  # as ddtrace: "none" next to other styles is ignored
            if style in _STYLES:
                if style not in styles:
                    styles.append(style)
            else:
                log.warning("unknown propagation style %r ignored", style)
    return styles


class _Config:
    def __init__(self) -> None:
        self.reload()

    def reload(self) -> None:
        self.inject = _parse_styles("DD_TRACE_PROPAGATION_STYLE_INJECT", "DD_TRACE_PROPAGATION_STYLE")
        self.extract = _parse_styles("DD_TRACE_PROPAGATION_STYLE_EXTRACT", "DD_TRACE_PROPAGATION_STYLE")
        self.extract_first = os.environ.get("DD_TRACE_PROPAGATION_EXTRACT_FIRST", "").lower() in (
            "1", "true")
        behavior = os.environ.get("DD_TRACE_PROPAGATION_BEHAVIOR_EXTRACT", "continue").strip().lower()
        if behavior not in _BEHAVIORS:
            log.warning("unknown DD_TRACE_PROPAGATION_BEHAVIOR_EXTRACT %r ignored", behavior)
            behavior = "continue"
        self.behavior_extract = behavior
        try:
            self.tags_max_length = int(os.environ.get("DD_TRACE_X_DATADOG_TAGS_MAX_LENGTH", "512"))
        except ValueError:
            self.tags_max_length = 512


config = _Config()


def _text(value: Any) -> Optional[str]:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="backslashreplace")
    return None


def _header(headers: Dict[str, Any], name: str) -> Optional[str]:
    """A header by its lowercase name or its WSGI form (HTTP_X_...)."""
    value = headers.get(name)
    if value is None:
        value = headers.get("http_" + name.replace("-", "_"))
    return _text(value) if value is not None else None


# -- extraction: each style gives a dict of Context arguments or None --------------

def _extract_datadog(headers: Dict[str, Any]) -> Optional[dict]:
    trace_id_text = _header(headers, HTTP_HEADER_TRACE_ID)
    if trace_id_text is None:
        return None
    trace_id = _ctrace._prop_decimal(trace_id_text.strip())
    if not trace_id:
        log.debug("invalid x-datadog-trace-id %r", trace_id_text)
        return None
    parent_text = _header(headers, HTTP_HEADER_PARENT_ID)
    span_id = 0 if parent_text is None else _ctrace._prop_decimal(parent_text.strip())
    if span_id is None:
        return None
    priority = None
    priority_text = _header(headers, HTTP_HEADER_SAMPLING_PRIORITY)
    if priority_text is not None:
        text = priority_text.strip()
        negative = text.startswith("-")
        magnitude = _ctrace._prop_decimal(text[1:] if negative else text)
        if magnitude is None or magnitude > 1 << 31:
            return None  # ddtrace: int() fails, no context
        priority = -magnitude if negative else magnitude
    meta: Dict[str, str] = {}
    tags_text = _header(headers, _HTTP_HEADER_TAGS)
    if tags_text:
        tags, error = _ctrace._prop_datadog_tags(tags_text)
        if error:
            meta[_PROPAGATION_ERROR_KEY] = error
        meta.update((k, v) for k, v in tags.items()
                    if k.startswith("_dd.p.") and k not in _EXTRACT_REJECTED_TAGS)
    high = meta.get("_dd.p.tid")
    if high is not None:
        valid = (len(high) == 16 and high == high.lower() and _ctrace._prop_hex(high))
        if valid:
            trace_id |= valid << 64
        else:
            del meta["_dd.p.tid"]
            meta[_PROPAGATION_ERROR_KEY] = "malformed_tid %s" % high
    if "_dd.p.dm" in meta and meta["_dd.p.dm"] not in _VALID_DECISIONS:
        del meta["_dd.p.dm"]
        meta[_PROPAGATION_ERROR_KEY] = "decoding_error"
    return {"trace_id": trace_id, "span_id": span_id or None, "sampling_priority": priority,
            "dd_origin": _header(headers, HTTP_HEADER_ORIGIN), "meta": meta}


def _tracestate_members(tracestate: str) -> List[str]:
    members = [m.strip() for m in tracestate.split(",") if m.strip()]
    dd = [m for m in members if m.startswith("dd=")][-1:]
    others = [m for m in members if not m.startswith("dd=")]
    return (dd + others)[:_TRACESTATE_MAX_MEMBERS]


def _w3c_priority(sampled: int, state_priority: Optional[int], origin: Optional[str]) -> Optional[int]:
    from_rum = not state_priority and origin == "rum"
    if not from_rum and sampled == 0 and (not state_priority or state_priority >= 0):
        return 0
    if not from_rum and sampled == 1 and (not state_priority or state_priority < 0):
        return 1
    return state_priority


def _extract_tracecontext(headers: Dict[str, Any]) -> Optional[dict]:
    traceparent = _header(headers, _HTTP_HEADER_TRACEPARENT)
    if traceparent is None:
        return None
    parsed = _ctrace._prop_traceparent(traceparent)
    if parsed is None:
        log.debug("invalid traceparent %r", traceparent)
        return None
    trace_id, span_id, flags = parsed
    meta = {_W3C_TRACEPARENT_KEY: traceparent.strip()}
    priority: Optional[int] = flags & 1
    origin = state_priority = None
    tracestate = _header(headers, _HTTP_HEADER_TRACESTATE)
    if tracestate:
        members = _tracestate_members(tracestate)
        joined = ",".join(members)
        if joined and all(0x20 <= ord(c) <= 0x7E for c in joined):
            meta[_W3C_TRACESTATE_KEY] = joined
            dd = [m for m in members if m.startswith("dd=")]
            values = _ctrace._prop_dd_member(dd[0][3:]) if dd else None
            if values is not None:
                state_priority, origin, last_parent, tags = values
                meta.update(tags)
                if last_parent:
                    meta[_LAST_DD_PARENT_ID_KEY] = last_parent
                priority = _w3c_priority(flags & 1, state_priority, origin)
    return {"trace_id": trace_id, "span_id": span_id, "sampling_priority": priority,
            "dd_origin": origin, "meta": meta, "dd_priority": state_priority}


def _b3_id(text: Optional[str]) -> Optional[int]:
    return _ctrace._prop_hex(text.strip()) if text is not None else None


def _b3_context(trace_text, span_text, priority) -> Optional[dict]:
    trace_id = _b3_id(trace_text)
    span_id = _b3_id(span_text) if span_text is not None else 0
    if trace_id is None or span_id is None:
        return None  # bad hex: ddtrace's int(x, 16) raises, no context
    if not trace_id:
        span_id = 0  # a parent without a trace would be half a context
    return {"trace_id": trace_id or None, "span_id": span_id or None,
            "sampling_priority": priority, "dd_origin": None, "meta": {}}


def _extract_b3multi(headers: Dict[str, Any]) -> Optional[dict]:
    trace_text = _header(headers, _HTTP_HEADER_B3_TRACE_ID)
    if trace_text is None:
        return None
    sampled = _header(headers, _HTTP_HEADER_B3_SAMPLED)
    priority = {"0": 0, "1": 1}.get(sampled) if sampled is not None else None
    if _header(headers, _HTTP_HEADER_B3_FLAGS) == "1":
        priority = 2
    return _b3_context(trace_text, _header(headers, _HTTP_HEADER_B3_SPAN_ID), priority)


def _extract_b3(headers: Dict[str, Any]) -> Optional[dict]:
    value = _header(headers, _HTTP_HEADER_B3_SINGLE)
    if not value:
        return None
    parts = value.split("-")
    trace_text = span_text = sampled = None
    if len(parts) == 1:
        (sampled,) = parts
    elif len(parts) == 2:
        trace_text, span_text = parts
    else:
        trace_text, span_text, sampled = parts[:3]
    priority = {"0": 0, "1": 1, "d": 2}.get(sampled) if sampled is not None else None
    if trace_text is None:
        return {"trace_id": None, "span_id": None, "sampling_priority": priority,
                "dd_origin": None, "meta": {}}
    return _b3_context(trace_text, span_text, priority)


_EXTRACTORS = {
    PROPAGATION_STYLE_DATADOG: _extract_datadog,
    _PROPAGATION_STYLE_W3C_TRACECONTEXT: _extract_tracecontext,
    PROPAGATION_STYLE_B3_MULTI: _extract_b3multi,
    PROPAGATION_STYLE_B3_SINGLE: _extract_b3,
}

#: style -> the header without which its extractor finds nothing, in both
#: forms ``_header`` reads: most requests carry none, and one lookup per
#: style then saves every extractor's call.
_KEY_HEADERS = {
    style: (name, "http_" + name.replace("-", "_"))
    for style, name in ((PROPAGATION_STYLE_DATADOG, HTTP_HEADER_TRACE_ID),
                        (_PROPAGATION_STYLE_W3C_TRACECONTEXT, _HTTP_HEADER_TRACEPARENT),
                        (PROPAGATION_STYLE_B3_MULTI, _HTTP_HEADER_B3_TRACE_ID),
                        (PROPAGATION_STYLE_B3_SINGLE, _HTTP_HEADER_B3_SINGLE),
                        (_PROPAGATION_STYLE_BAGGAGE, _HTTP_HEADER_BAGGAGE))
}


def _carries_propagation(normalized: Dict[str, Any]) -> bool:
    """Whether ``normalized`` has the key header of a configured style;
    an unknown style is assumed present (its extractor decides)."""
    for style in config.extract:
        names = _KEY_HEADERS.get(style)
        if names is None or names[0] in normalized or names[1] in normalized:
            return True
    return False


def _resolve(found: List[Tuple[str, dict]]) -> dict:
    """ddtrace's rule: the first style is primary; a W3C context of the same
    trace adds its tracestate, and its parent wins over another one (the
    Datadog parent is kept in _dd.parent_id)."""
    style, primary = found[0]
    styles = [s for s, _ in found]
    for other_style, other in found[1:]:
        if other_style != _PROPAGATION_STYLE_W3C_TRACECONTEXT or other["trace_id"] != primary["trace_id"]:
            continue
        for key in (_W3C_TRACEPARENT_KEY, _W3C_TRACESTATE_KEY):
            if key in other["meta"]:
                primary["meta"][key] = other["meta"][key]
        if other["span_id"] != primary["span_id"]:
            if _LAST_DD_PARENT_ID_KEY in other["meta"]:
                primary["meta"][_LAST_DD_PARENT_ID_KEY] = other["meta"][_LAST_DD_PARENT_ID_KEY]
            elif PROPAGATION_STYLE_DATADOG in styles:
                dd = found[styles.index(PROPAGATION_STYLE_DATADOG)][1]
                primary["meta"][_LAST_DD_PARENT_ID_KEY] = "%016x" % (dd["span_id"] or 0)
            primary["span_id"] = other["span_id"]
    return primary


def _extract_baggage(headers: Dict[str, Any]) -> Dict[str, str]:
    value = _header(headers, _HTTP_HEADER_BAGGAGE)
    if not value:
        return {}
    baggage = _ctrace._prop_baggage(value)
    return baggage if baggage is not None else {}


# -- injection -------------------------------------------------------------------

def _sampled_context(context) -> Tuple[Any, Optional[Span]]:
    """The Context to inject and the span behind it; decides the sampling
    priority first if nobody did, so downstream services inherit it."""
    from ddtrace._tracer import tracer

    span = context if isinstance(context, Span) else None
    ctx = span.context if span is not None else context
    if ctx.sampling_priority is None:
        if span is None:
            root = tracer.current_root_span()
            if root is not None and root.trace_id == ctx.trace_id:
                span = root
        if span is not None:
            _ctrace._decide_sampling(span)
    return ctx, span


def _propagated_tags(ctx, span) -> Tuple[Dict[str, str], bool]:
    """The `_dd.p.*` tags to propagate, and whether the trace carries a
    propagation error (then ddtrace sends no x-datadog-tags)."""
    tags = _ctrace._trace_tags(span if span is not None else ctx)
    if tags is None:
        tags = {k: v for k, v in ctx._meta.items() if k.startswith("_dd.p.")}
    error = tags.pop(_PROPAGATION_ERROR_KEY, None) is not None or _PROPAGATION_ERROR_KEY in ctx._meta
    tags.pop("_dd.p.tid", None)
    if ctx.trace_id and ctx.trace_id > _MAX_UINT_64BITS:
        tags["_dd.p.tid"] = "%016x" % (ctx.trace_id >> 64)
    return tags, error


def _quote(text: str, safe: str) -> str:
    return urllib.parse.quote(str(text).strip(), safe=safe)


_BAGGAGE_KEY_SAFE = "!#$%&'*+-.^_`|~"
_BAGGAGE_VALUE_SAFE = "!#$%&'()*+-./:<>?@[]^_`{|}~"


def _inject_baggage(ctx, headers: Dict[str, str]) -> None:
    items, size = [], 0
    for key, value in list(ctx._baggage.items())[:64]:
        item = "%s=%s" % (_quote(key, _BAGGAGE_KEY_SAFE), _quote(value, _BAGGAGE_VALUE_SAFE))
        item_size = len(item.encode("utf-8")) + (1 if items else 0)
        if size + item_size > 8192:  # ddtrace 4.x, as the C parser
            break
        items.append(item)
        size += item_size
    if items:
        headers[_HTTP_HEADER_BAGGAGE] = ",".join(items)


def _inject_datadog(ctx, tags, error, headers) -> None:
    headers[HTTP_HEADER_TRACE_ID] = str(ctx.trace_id & _MAX_UINT_64BITS)
    headers[HTTP_HEADER_PARENT_ID] = str(ctx.span_id)
    if ctx.sampling_priority is not None:
        headers[HTTP_HEADER_SAMPLING_PRIORITY] = str(ctx.sampling_priority)
    if ctx.dd_origin is not None:
        headers[HTTP_HEADER_ORIGIN] = str(ctx.dd_origin)
    if error or not tags:
        return
    value, error = _ctrace._prop_format_datadog_tags(list(tags.items()), config.tags_max_length)
    if error:
        ctx._meta[_PROPAGATION_ERROR_KEY] = error
        log.warning("failed to encode x-datadog-tags: %s", error)
    elif value:
        headers[_HTTP_HEADER_TAGS] = value


def _b3_hex(value: int) -> str:
    return "%032x" % value if value > _MAX_UINT_64BITS else "%016x" % value


def _inject_b3multi(ctx, headers) -> None:
    headers[_HTTP_HEADER_B3_TRACE_ID] = _b3_hex(ctx.trace_id)
    headers[_HTTP_HEADER_B3_SPAN_ID] = _b3_hex(ctx.span_id)
    priority = ctx.sampling_priority
    if priority is not None:
        if priority <= 0:
            headers[_HTTP_HEADER_B3_SAMPLED] = "0"
        elif priority == 1:
            headers[_HTTP_HEADER_B3_SAMPLED] = "1"
        else:
            headers[_HTTP_HEADER_B3_FLAGS] = "1"


def _inject_b3(ctx, headers) -> None:
    value = "%s-%s" % (_b3_hex(ctx.trace_id), _b3_hex(ctx.span_id))
    priority = ctx.sampling_priority
    if priority is not None:
        value += "-0" if priority <= 0 else "-1" if priority == 1 else "-d"
    headers[_HTTP_HEADER_B3_SINGLE] = value


def _inject_tracecontext(ctx, span, tags, headers) -> None:
    priority = ctx.sampling_priority
    headers[_HTTP_HEADER_TRACEPARENT] = _ctrace._prop_format_traceparent(
        ctx.trace_id >> 64, ctx.trace_id & _MAX_UINT_64BITS, ctx.span_id,
        bool(priority and priority > 0))
    items = []
    if span is not None or not ctx._is_remote:
        items.append(("p", "%016x" % ctx.span_id))
    elif _LAST_DD_PARENT_ID_KEY in ctx._meta:
        items.append(("p", ctx._meta[_LAST_DD_PARENT_ID_KEY]))
    if priority is not None:
        items.append(("s", str(priority)))
    if ctx.dd_origin:
        items.append(("o", str(ctx.dd_origin)))
    # ddtrace only lists t.tid when the datadog style (which records it)
    # ran first; the traceparent carries all 128 bits anyway.
    with_tid = PROPAGATION_STYLE_DATADOG in config.inject
    items.extend(("t." + k[6:], v) for k, v in tags.items() if with_tid or k != "_dd.p.tid")
    dd = _ctrace._prop_format_dd_member(items)
    others = [m for m in _tracestate_members(ctx._meta.get(_W3C_TRACESTATE_KEY, ""))
              if not m.startswith("dd=")]
    headers[_HTTP_HEADER_TRACESTATE] = ",".join(
        (["dd=" + dd] if dd else []) + others[:_TRACESTATE_MAX_MEMBERS - 1])


def _w3c_tracestate(context) -> str:
    """The ``tracestate`` value injection would send for ``context`` (a
    Span or Context): its ``dd=`` member first, then the other vendors'.
    The OpenTelemetry bridge hands it to OTel's propagators and links."""
    ctx, span = _sampled_context(context)
    if not ctx.trace_id or not ctx.span_id:
        return ""
    headers: Dict[str, str] = {}
    _inject_tracecontext(ctx, span, _propagated_tags(ctx, span)[0], headers)
    return headers.get(_HTTP_HEADER_TRACESTATE, "")


def _context_from_w3c(trace_id: int, span_id: int, sampled: Optional[bool], tracestate: str) -> Context:
    """A remote Context as the ``tracecontext`` style extracts it from a
    traceparent of these ids and flags and this ``tracestate`` (``dd=``
    gives priority, origin and ``_dd.p.*`` tags; other vendors are kept for
    re-injection). ``sampled=None`` (no decision upstream) leaves the
    priority to the ``dd=`` member, or undecided."""
    traceparent = _ctrace._prop_format_traceparent(
        trace_id >> 64, trace_id & _MAX_UINT_64BITS, span_id, bool(sampled))
    headers = {_HTTP_HEADER_TRACEPARENT: traceparent}
    if tracestate:
        headers[_HTTP_HEADER_TRACESTATE] = tracestate
    args = _extract_tracecontext(headers)
    if args is None:
        return Context()
    if sampled is None:
        args["sampling_priority"] = args["dd_priority"]
    return Context(trace_id=args["trace_id"], span_id=args["span_id"],
                   sampling_priority=args["sampling_priority"], dd_origin=args["dd_origin"],
                   meta=args["meta"])


def _restart_links(style: str, args: dict) -> List[dict]:
    """DD_TRACE_PROPAGATION_BEHAVIOR_EXTRACT=restart: the upstream context
    becomes a span link of the new trace's root (Span.set_link arguments,
    which spans started from the Context apply)."""
    if not args["trace_id"] or not args["span_id"]:
        return []
    priority = args["sampling_priority"]
    tracestate = (args["meta"].get(_W3C_TRACESTATE_KEY, "")
                  if style == _PROPAGATION_STYLE_W3C_TRACECONTEXT else None)
    return [{"trace_id": args["trace_id"], "span_id": args["span_id"], "tracestate": tracestate,
             "flags": 1 if priority and priority > 0 else 0,
             "attributes": {"reason": "propagation_behavior_extract", "context_headers": style}}]


class HTTPPropagator:
    """Injects a trace's context into HTTP headers and extracts it back,
    in the styles configured by DD_TRACE_PROPAGATION_STYLE*."""

    @staticmethod
    def inject(context: Union[Span, Context], headers: Dict[str, str]) -> None:
        """Adds the headers of ``context`` (a Span, preferably, or a
        Context) to ``headers``. Never raises."""
        try:
            HTTPPropagator._inject(context, headers)
        except Exception:
            log.debug("error while injecting propagation headers", exc_info=True)

    @staticmethod
    def _inject(context, headers: Dict[str, str]) -> None:
        if context is None or not config.inject:
            return
        ctx, span = _sampled_context(context)
        if _PROPAGATION_STYLE_BAGGAGE in config.inject:
            _inject_baggage(ctx, headers)
        if not ctx.trace_id or not ctx.span_id:
            return
        tags, error = _propagated_tags(ctx, span)
        if PROPAGATION_STYLE_DATADOG in config.inject:
            _inject_datadog(ctx, tags, error, headers)
        if PROPAGATION_STYLE_B3_MULTI in config.inject:
            _inject_b3multi(ctx, headers)
        if PROPAGATION_STYLE_B3_SINGLE in config.inject:
            _inject_b3(ctx, headers)
        if _PROPAGATION_STYLE_W3C_TRACECONTEXT in config.inject:
            _inject_tracecontext(ctx, span, tags, headers)

    @staticmethod
    def extract(headers: Mapping[str, Any]) -> Context:
        """A new Context from ``headers`` (an empty one when they carry no
        valid trace). Never raises."""
        context = HTTPPropagator._extract_carried(headers)
        return context if context is not None else Context()

    @staticmethod
    def _extract_carried(headers: Mapping[str, Any]) -> Optional[Context]:
        """``extract``, but None where it would make an empty Context
        because no configured style's header is there: integrations skip
        the Context on most requests. Never raises."""
        try:
            return HTTPPropagator._extract(headers)
        except Exception:
            log.debug("error while extracting propagation headers", exc_info=True)
            return None

    @staticmethod
    def _extract(headers) -> Optional[Context]:
        if not headers or not config.extract or config.behavior_extract == "ignore":
            return None
        normalized = {}
        for name, value in headers.items():
            if type(name) is not str:  # (inline for str: a request has a dozen headers)
                name = _text(name)
                if name is None:
                    continue
            normalized[name.lower()] = value
        if not _carries_propagation(normalized):
            return None
        found: List[Tuple[str, dict]] = []
        for style in config.extract:
            extractor = _EXTRACTORS.get(style)
            if extractor is None:
                continue
            args = extractor(normalized)
            if args is not None:
                found.append((style, args))
                if config.extract_first:
                    break
        baggage = _extract_baggage(normalized) if _PROPAGATION_STYLE_BAGGAGE in config.extract else {}
        if not found:
            return Context(baggage=baggage)
        args = _resolve(found)
        if config.behavior_extract == "restart":
            return Context(baggage=baggage, span_links=_restart_links(found[0][0], args))
        return Context(trace_id=args["trace_id"], span_id=args["span_id"],
                       sampling_priority=args["sampling_priority"], dd_origin=args["dd_origin"],
                       meta=args["meta"], baggage=baggage)


__all__ = ["HTTPPropagator"]
