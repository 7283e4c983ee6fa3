#!/usr/bin/env python3
"""Instructions ctrace-agent spends per stored span, counted by callgrind
over the whole process (every thread: HTTP, writer, checkpointer), so the
figure does not move with the machine's load as times do.

Each binary runs twice, storing FEW and then MANY v0.5 payloads of the
benchmark's template (100 traces x 10 spans, bench/agent_payloads.py), one
request at a time; the difference over the spans between the two runs
leaves start-up and shutdown out.

Usage: bench/agent_ingest_instructions.py AGENT_BINARY [AGENT_BINARY ...]
       [--few 10] [--many 60] [--format v0.5]
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import agent_client  # noqa: E402
import agent_payloads  # noqa: E402


def instructions(binary, version, payloads):
    d = tempfile.mkdtemp(prefix='ctrace-instr-')
    try:
        out = os.path.join(d, 'callgrind.out')
        proc = subprocess.Popen(['valgrind', '--tool=callgrind', '--callgrind-out-file=' + out, binary,
                                 '--listen', '127.0.0.1:0', '--data', d, '--retention', '0',
                                 '--max-size', '0'],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        port = int(re.search(r'listening on http://127\.0\.0\.1:(\d+)', proc.stdout.readline()).group(1))
        tpl = agent_payloads.Template(version, 100, seed=1)
        conn = agent_client.Conn(port)
        now = time.time_ns()
        for k in range(payloads):
            status, _ = conn.request('PUT', '/%s/traces' % version, tpl.make(1 + k * 100, now - 60 * 10**9),
                                     {'Content-Type': 'application/msgpack'})
            assert status == 200, status
        conn.close()
        proc.terminate()
        proc.communicate()
        with open(out) as f:
            total = [line for line in f if line.startswith(('totals:', 'summary:'))][0]
        return int(total.split()[1]), tpl.spans * payloads
    finally:
        shutil.rmtree(d, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('binaries', nargs='+')
    ap.add_argument('--few', type=int, default=10)
    ap.add_argument('--many', type=int, default=60)
    ap.add_argument('--format', default='v0.5', choices=['v0.4', 'v0.5'])
    args = ap.parse_args()
    for binary in args.binaries:
        i0, s0 = instructions(binary, args.format, args.few)
        i1, s1 = instructions(binary, args.format, args.many)
        print('%-40s %s %8.0f instructions/span' % (binary, args.format, (i1 - i0) / (s1 - s0)))


if __name__ == '__main__':
    main()
