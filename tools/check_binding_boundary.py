#!/usr/bin/env python3
"""Checks the line between the core's public API, its internal one and the
Python binding.

Run by meson as the test binding_boundary (src/python/meson.build); its
functions are also called by tests/python/test_binding_boundary.py, which
plants a violation of each rule and sees it reported. The rules, as in
libuv (`uv_` public, `uv__` internal):

  - every external symbol of the core library (nm's defined globals) is
    either declared in include/ctrace.h, the public API, or named ct__,
    the internal API: a name that starts with ct_ promises a C program it
    may call it;
  - include/ctrace.h declares no ct__ name (its comments may mention them);
  - src/python includes nothing from src/core but ctrace_internal.h, and
    ctrace_internal.h includes nothing of the core but ctrace.h, so that
    the binding sees only the declarations made for it (followed
    transitively: a header of the binding's own that included span.h
    would be caught too).

Usage: check_binding_boundary.py --root SOURCE_ROOT --nm NM --library LIB
Prints each violation and exits 1 if there is any.
"""
import argparse
import os
import re
import subprocess
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"', re.M)
COMMENT = re.compile(r'/\*.*?\*/|//[^\n]*', re.S)
INTERNAL_HEADER = 'ctrace_internal.h'


def without_comments(text):
    return COMMENT.sub(' ', text)


def public_names(ctrace_h):
    """Every ct_ identifier include/ctrace.h declares (outside comments)."""
    return set(re.findall(r'\b(ct_\w+)', without_comments(ctrace_h)))


def internal_names_in_public_header(ctrace_h):
    """The ct__ identifiers used outside comments in include/ctrace.h."""
    return sorted(set(re.findall(r'\b(ct__\w+)', without_comments(ctrace_h))))


def exported_symbols(nm, objects):
    """The defined external symbols of the given archives or objects."""
    out = subprocess.run([nm, '-g', '--defined-only'] + list(objects), check=True,
                         capture_output=True, text=True).stdout
    symbols = set()
    for line in out.splitlines():
        fields = line.split()
        if len(fields) == 3:  # address, type, name (the rest: member names, blanks)
            symbols.add(fields[2])
    return symbols


def misnamed_symbols(symbols, public):
    """Symbols that are neither declared in ctrace.h nor named ct__.
    Reserved names (leading "__") are the compiler's, not ours: an ASan
    build exports an `__odr_asan.NAME` indicator for each global."""
    return sorted(s for s in symbols
                  if not s.startswith(('ct__', '__')) and s not in public)


def resolve(header, including_dir, search_dirs):
    for d in [including_dir] + list(search_dirs):
        path = os.path.join(d, header)
        if os.path.isfile(path):
            return os.path.normpath(path)
    return None  # a system header, or one the build would not find either


def core_headers_reached(binding_dir, core_dir, include_dir):
    """(binding file, chain of includes) for every src/core header other
    than ctrace_internal.h that a binding source reaches, directly or
    through other headers. Quoted includes are looked up as the compiler
    does: beside the including file, then in include/ and src/core."""
    core_dir = os.path.normpath(core_dir)
    search = [include_dir, core_dir]
    found = []
    for name in sorted(os.listdir(binding_dir)):
        if not name.endswith(('.c', '.h')):
            continue
        stack = [(os.path.join(binding_dir, name), [name])]
        seen = set()
        while stack:
            path, chain = stack.pop()
            with open(path, encoding='utf-8') as f:
                text = without_comments(f.read())
            for header in INCLUDE.findall(text):
                target = resolve(header, os.path.dirname(path), search)
                if target is None or target in seen:
                    continue
                seen.add(target)
                in_core = os.path.dirname(target) == core_dir
                if in_core and os.path.basename(target) != INTERNAL_HEADER:
                    found.append((name, ' -> '.join(chain + [header])))
                else:
                    stack.append((target, chain + [header]))
    return found


def problems(root, nm, library):
    include_dir = os.path.join(root, 'include')
    with open(os.path.join(include_dir, 'ctrace.h'), encoding='utf-8') as f:
        ctrace_h = f.read()
    out = []
    for s in misnamed_symbols(exported_symbols(nm, [library]), public_names(ctrace_h)):
        out.append('%s: exported by the core, not declared in ctrace.h: name it ct__%s'
                   % (s, s[3:] if s.startswith('ct_') else s))
    for s in internal_names_in_public_header(ctrace_h):
        out.append('include/ctrace.h: declares the internal name %s' % s)
    for name, chain in core_headers_reached(os.path.join(root, 'src', 'python'),
                                            os.path.join(root, 'src', 'core'), include_dir):
        out.append('src/python/%s reaches a core header other than %s: %s'
                   % (name, INTERNAL_HEADER, chain))
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--root', required=True)
    parser.add_argument('--nm', default='nm')
    parser.add_argument('--library', required=True)
    args = parser.parse_args()
    found = problems(args.root, args.nm, args.library)
    for line in found:
        print(line)
    print('binding boundary: %d problem(s)' % len(found))
    return 1 if found else 0


if __name__ == '__main__':
    sys.exit(main())
