"""The CPython extension is a client of the core through two headers only.

src/python may include include/ctrace.h, src/core/ctrace_internal.h (the
core's `ct__` API for bindings), its own headers and system ones, and
ctrace_internal.h includes nothing of the core but ctrace.h; the trace
segment and the tracer are then opaque to it, so the compiler refuses any
use of their fields. The span it embeds is complete (it is held by value),
so the fields of `struct ct_span` are checked here instead: the extension
reads and writes them only through the ct__span_* accessors.

The rules live in tools/check_binding_boundary.py, which the meson test
binding_boundary runs on the built core library (nm needs the build); here
each rule is also shown to fail on a planted violation.
"""
import importlib.util
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINDING = os.path.join(ROOT, "src", "python")
CORE = os.path.join(ROOT, "src", "core")
INCLUDE = os.path.join(ROOT, "include")
CHECKER = os.path.join(ROOT, "tools", "check_binding_boundary.py")

spec = importlib.util.spec_from_file_location("check_binding_boundary", CHECKER)
check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check)


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def binding_sources():
    for name in sorted(os.listdir(BINDING)):
        if name.endswith((".c", ".h")):
            yield name, read(os.path.join(BINDING, name))


def span_fields():
    """The member names of struct ct_span, read from ctrace_internal.h."""
    text = read(os.path.join(CORE, "ctrace_internal.h"))
    body = re.search(r"struct ct_span \{(.*?)\n\};", text, re.S).group(1)
    body = re.sub(r"/\*.*?\*/", "", body, flags=re.S)
    fields = set()
    for declaration in body.split(";"):
        for name in declaration.split(","):
            words = re.findall(r"\w+", name)
            if words:
                fields.add(words[-1])
    return fields


def planted_tree(tmp_path):
    """A copy of the headers and binding sources the include rule reads."""
    root = tmp_path / "tree"
    for part in ("include", os.path.join("src", "core"), os.path.join("src", "python")):
        shutil.copytree(os.path.join(ROOT, part), root / part,
                        ignore=shutil.ignore_patterns("*.c") if "core" in part else None)
    return root


def append_line(path, line):
    text = path.read_text()
    path.write_text(text.replace("#endif", line + "\n#endif", 1) if path.suffix == ".h"
                    else line + "\n" + text)


def compiled_object(tmp_path, source):
    """A real object file defining the given C, to run nm on."""
    c_file, obj = tmp_path / "planted.c", tmp_path / "planted.o"
    c_file.write_text(source)
    subprocess.run([os.environ.get("CC", "cc"), "-c", str(c_file), "-o", str(obj)], check=True)
    return str(obj)


def test_the_binding_reaches_no_core_header_but_the_internal_one():
    assert check.core_headers_reached(BINDING, CORE, INCLUDE) == []


def test_a_core_header_reached_through_a_binding_header_is_reported(tmp_path):
    root = planted_tree(tmp_path)
    append_line(root / "src" / "python" / "ext.h", '#include "tags.h"')
    found = check.core_headers_reached(str(root / "src" / "python"), str(root / "src" / "core"),
                                       str(root / "include"))
    assert ("ext.h", "ext.h -> tags.h") in found
    assert any(chain.endswith("ext.h -> tags.h") and name.endswith(".c") for name, chain in found)


def test_a_core_header_included_by_the_internal_header_is_reported(tmp_path):
    root = planted_tree(tmp_path)
    append_line(root / "src" / "core" / "ctrace_internal.h", '#include "span_record.h"')
    found = check.core_headers_reached(str(root / "src" / "python"), str(root / "src" / "core"),
                                       str(root / "include"))
    assert found and all(chain.endswith("ctrace_internal.h -> span_record.h")
                         for name, chain in found)


def test_ctrace_h_declares_no_internal_name_and_a_planted_one_is_reported():
    text = read(os.path.join(INCLUDE, "ctrace.h"))
    assert check.internal_names_in_public_header(text) == []
    planted = text.replace("#endif", "/* ct__in_a_comment is fine */\n"
                           "int ct__planted(void);\n#endif")
    assert check.internal_names_in_public_header(planted) == ["ct__planted"]


def test_an_exported_ct_name_missing_from_ctrace_h_is_reported(tmp_path):
    public = check.public_names(read(os.path.join(INCLUDE, "ctrace.h")))
    assert {"ct_span_new", "ct_tracer_free", "ct_strerror"} <= public  # the parse worked
    obj = compiled_object(tmp_path, "int ct_strerror_planted_twin(void) { return 0; }\n"
                          "int ct__internal_planted(void) { return 1; }\n"
                          "int ct_span_new(void) { return 2; }\n"
                          "int planted_count;\n")
    symbols = check.exported_symbols("nm", [obj])
    assert {"ct_strerror_planted_twin", "ct__internal_planted", "ct_span_new"} <= symbols
    assert check.misnamed_symbols(symbols, public) == ["ct_strerror_planted_twin",
                                                       "planted_count"]


def test_the_whole_check_exits_1_on_violations_and_0_without(tmp_path):
    root = planted_tree(tmp_path)
    clean = compiled_object(tmp_path, "int ct__fine(void) { return 0; }\n")
    run = [sys.executable, CHECKER, "--root", str(root), "--library", clean]
    ok = subprocess.run(run, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout
    append_line(root / "src" / "python" / "span.c", '#include "span.h"')
    bad = subprocess.run(run, capture_output=True, text=True)
    assert bad.returncode == 1
    assert "src/python/span.c reaches a core header" in bad.stdout


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


def test_the_compilers_reserved_names_are_not_ours_to_rename():
    # An ASan build exports an __odr_asan.NAME indicator beside each global.
    symbols = {"__odr_asan.ct__config_env_names", "ct__config_env_names", "ct_planted"}
    assert check.misnamed_symbols(symbols, set()) == ["ct_planted"]
