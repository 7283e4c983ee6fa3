"""Trace processors (``tracer.configure(trace_processors=[...])``).

Spans are serialized into C records when they finish, but a processor needs
the Python Span objects of a whole local trace. So, only while processors
are configured, the tracer's ``_finish_hook`` is set: the extension then
*defers* each finished span (finished, duration fixed, but not yet recorded
into its segment, which still counts it open) and hands it to
``SpanGroups.on_finish`` below. When every span of the segment has finished
(the deferred spans of a segment equal its open count, read with
``span._segment_state()``), the processors run on the list in start order;
then each kept span is recorded (``_record_deferred``, the local root last)
and each dropped one is given up (``_drop_deferred``, counted as dropped).
Recording the last span completes the segment in C as usual: sampling,
chunk tags and the writer see the processed spans.

Without processors the hook is unset and a finish pays one NULL test.
With them, once a local trace is processed, the active ContextVar is moved
off its finished spans so that they are freed (ddtrace frees them; without
processors ctrace leaves the last finished span of a context in its
ContextVar until the next span starts there: resetting it at every finish
would cost a ContextVar set per span). A disabled tracer runs no
processor, as in ddtrace.

As in ddtrace: a processor returning None or [] drops the trace and the
chain stops; a processor that raises is skipped (the spans go on as they
were before it) and the exception never reaches user code. Unlike ddtrace,
which logs every failure, a failing processor is logged once, with its
traceback, then at debug level, so a broken processor cannot flood logs.

Partial flush: a group that reaches ``DD_TRACE_PARTIAL_FLUSH_MIN_SPANS``
finished spans while others are still open is processed and recorded as a
partial chunk, as ddtrace does, so memory stays bounded.
"""
import logging
import os
import weakref
from typing import Any, Dict, List, Optional, Sequence

from ddtrace import _ctrace

log = logging.getLogger("ddtrace")


def _partial_flush_min_spans() -> Optional[int]:
    """The partial-flush threshold, or None when partial flush is off."""
    enabled = os.environ.get("DD_TRACE_PARTIAL_FLUSH_ENABLED", "true").strip().lower()
    if enabled in ("false", "0"):
        return None
    try:
        return max(1, int(os.environ.get("DD_TRACE_PARTIAL_FLUSH_MIN_SPANS", "300")))
    except ValueError:
        return 300


class SpanGroups:
    """The deferred spans of each local trace, until it completes."""

    def __init__(self, tracer, processors: Sequence[Any]) -> None:
        self.tracer = weakref.ref(tracer)  # the tracer holds this through its hook
        self.processors = list(processors)
        self.pending: Dict[int, List[Any]] = {}
        self.min_spans = _partial_flush_min_spans()
        self._reported = set()

    def on_finish(self, span) -> None:
        """The tracer's finish hook. Never raises (the extension would
        then record the span unprocessed)."""
        segment, not_recorded = span._segment_state()
        group = self.pending.setdefault(segment, [])
        group.append(span)
        if len(group) >= not_recorded:
            del self.pending[segment]
            self._send(group)
        elif self.min_spans is not None and len(group) >= self.min_spans:
            del self.pending[segment]
            self._send(group)

    def release_all(self) -> None:
        """Processors are being removed: record what is held, unprocessed,
        so no segment waits forever for spans nobody will record."""
        groups, self.pending = list(self.pending.values()), {}
        for group in groups:
            for span in group:
                span._record_deferred()

    def _send(self, group: List[Any]) -> None:
        group.sort(key=lambda s: s.start_ns)
        # As ddtrace: a disabled tracer runs no processor (nothing is sent).
        tracer = self.tracer()
        kept = self._process(list(group)) if tracer is not None and tracer.enabled else group
        kept_ids = {id(s) for s in kept}
        for span in group:
            if id(span) not in kept_ids:
                span._drop_deferred()
        # The root last: its record is then written straight into the chunk.
        for span in sorted((s for s in group if id(s) in kept_ids),
                           key=lambda s: s._local_root is s):
            span._record_deferred()
        _ctrace._release_finished_active()  # the trace's spans can be freed

    def _process(self, spans: List[Any]) -> List[Any]:
        for processor in self.processors:
            try:
                result = processor.process_trace(spans)
            except Exception:
                self._report(processor)
                continue
            if not result:
                return []
            spans = list(result)
        return spans

    def _report(self, processor) -> None:
        if id(processor) in self._reported:
            log.debug("error applying processor %r", processor, exc_info=True)
            return
        self._reported.add(id(processor))
        log.error("error applying processor %r; the trace is sent as it was "
                  "(reported once per processor)", processor, exc_info=True)


def configure(tracer, processors: Sequence[Any]) -> None:
    """Installs processors on the tracer (an empty list removes them)."""
    previous = getattr(tracer._finish_hook, "__self__", None)
    if isinstance(previous, SpanGroups):
        tracer._finish_hook = None
        previous.release_all()
    if processors:
        tracer._finish_hook = SpanGroups(tracer, processors).on_finish
