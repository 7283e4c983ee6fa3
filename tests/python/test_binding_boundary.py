"""The CPython extension is a client of the core through two headers only.

src/python may include include/ctrace.h, src/core/ctrace_internal.h (the
core's `ct__` API for bindings), its own headers and system ones; the trace
segment and the tracer are then opaque to it, so the compiler refuses any
use of their fields. The span it embeds is complete (it is held by value),
so the fields of `struct ct_span` are checked here instead: the extension
reads and writes them only through the ct__span_* accessors.
"""
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINDING = os.path.join(ROOT, "src", "python")
CORE_HEADERS = {"ctrace.h", "ctrace_internal.h"}


def binding_sources():
    for name in sorted(os.listdir(BINDING)):
        if name.endswith((".c", ".h")):
            with open(os.path.join(BINDING, name), encoding="utf-8") as f:
                yield name, f.read()


def own_headers():
    return {name for name in os.listdir(BINDING) if name.endswith(".h")}


def span_fields():
    """The member names of struct ct_span, read from span.h."""
    with open(os.path.join(ROOT, "src", "core", "span.h"), encoding="utf-8") as f:
        text = f.read()
    body = re.search(r"struct ct_span \{(.*?)\n\};", text, re.S).group(1)
    body = re.sub(r"/\*.*?\*/", "", body, flags=re.S)
    fields = set()
    for declaration in body.split(";"):
        for name in declaration.split(",")[1:] + [declaration.split(",")[0]]:
            words = re.findall(r"\w+", name)
            if words:
                fields.add(words[-1])
    return fields


def test_the_binding_includes_only_the_two_core_headers():
    allowed = CORE_HEADERS | own_headers()
    found = {}
    for name, text in binding_sources():
        for header in re.findall(r'#include\s+"([^"]+)"', text):
            if header not in allowed:
                found.setdefault(name, []).append(header)
    assert found == {}


def test_the_span_fields_are_reached_only_through_accessors():
    fields = span_fields()
    assert {"trace", "span_id", "finished", "name", "tags"} <= fields  # the parse worked
    pattern = re.compile(r"(?:->|\.)span\s*\.\s*(%s)\b" % "|".join(sorted(fields)))
    found = []
    for name, text in binding_sources():
        for number, line in enumerate(text.splitlines(), 1):
            if pattern.search(line):
                found.append("%s:%d: %s" % (name, number, line.strip()))
    assert found == []
