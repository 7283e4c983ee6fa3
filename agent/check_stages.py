#!/usr/bin/env python3
"""Checks that each stage of the agent uses only the libraries it may.

Run by meson as the test agent_stages (agent/meson.build lists the rules).
The include directories already keep a stage from including another
stage's headers; this covers the system libraries, whose headers live in
/usr/include where every compiler sees them. For each stage it fails when

  - a source or header of the stage's folder includes a forbidden library's
    header, or
  - the stage's static library refers to a symbol of a forbidden library
    (nm's undefined symbols), which also catches a call through a macro or
    a header of another stage.

Usage: check_stages.py --nm NM (--stage NAME DIR LIBRARY FORBIDDEN)...
FORBIDDEN is a comma-separated list of library names below.
"""
import argparse
import os
import re
import subprocess
import sys

# library name -> (its headers, the prefix of its symbols)
LIBRARIES = {
    'sqlite3': (('sqlite3.h',), 'sqlite3_'),
    'microhttpd': (('microhttpd.h',), 'MHD_'),
    'curl': (('curl/curl.h',), 'curl_'),
    'cjson': (('cjson/cJSON.h', 'cJSON.h'), 'cJSON_'),
    'msgpack': (('msgpack.h',), 'msgpack_'),
    'zstd': (('zstd.h',), 'ZSTD_'),
}

INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]', re.M)


def header_problems(name, folder, forbidden):
    out = []
    for f in sorted(os.listdir(folder)):
        if not f.endswith(('.c', '.h')):
            continue
        with open(os.path.join(folder, f), encoding='utf-8') as fh:
            included = INCLUDE.findall(fh.read())
        for lib in forbidden:
            for h in LIBRARIES[lib][0]:
                if h in included:
                    out.append('%s: %s/%s includes <%s>' % (name, name, f, h))
    return out


def symbol_problems(nm, name, library, forbidden):
    undefined = subprocess.run([nm, '-u', library], check=True, capture_output=True,
                               text=True).stdout.split()
    out = []
    for lib in forbidden:
        prefix = LIBRARIES[lib][1]
        used = sorted({s for s in undefined if s.startswith(prefix)})
        if used:
            out.append('%s: %s refers to %s (%s)' % (name, os.path.basename(library), lib,
                                                     ', '.join(used[:5])))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--nm', required=True)
    ap.add_argument('--stage', nargs=4, action='append', required=True,
                    metavar=('NAME', 'DIR', 'LIBRARY', 'FORBIDDEN'))
    args = ap.parse_args()
    problems = []
    for name, folder, library, forbidden in args.stage:
        libs = [x for x in forbidden.split(',') if x]
        unknown = [x for x in libs if x not in LIBRARIES]
        if unknown:
            problems.append('%s: unknown library %s' % (name, ', '.join(unknown)))
            continue
        problems += header_problems(name, folder, libs)
        problems += symbol_problems(args.nm, name, library, libs)
    for p in problems:
        print(p)
    if problems:
        return 1
    print('all %d checked: each stage uses only the libraries it may' % len(args.stage))
    return 0


if __name__ == '__main__':
    sys.exit(main())
