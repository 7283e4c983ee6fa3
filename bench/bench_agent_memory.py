"""ctrace-agent peak memory under hostile payloads: the agent's VmHWM
(/proc/<pid>/status) after each scenario, against its --max-inflight
budget. Target: peak RSS under budget + a stated constant (96 MiB) for any
sequence of requests.

Scenarios (a fresh agent each, --max-inflight 200 MiB):
  one-map     one 45 MB v0.5 body: a span whose meta is 22.5 M pairs of
              string index 0 (over the per-span object limit: dropped)
  three-maps  three of those at once
  amplified   three ~28 MB bodies at once, 30 spans of 450 k pairs each
              (under the per-span limit; each decodes to ~430 MB)
  huge-trace  GET of a 1.3 M-span trace stored in 13 payloads
"""
import argparse
import os
import sys
import tempfile
import threading
import time
import urllib.request

import msgpack

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import agent_client  # noqa: E402
from hostile_payloads import SPAN, payload, vm_hwm_bytes  # noqa: E402

BUDGET = 200 << 20
CONSTANT = 96 << 20


def put(port, version, body):
    req = urllib.request.Request('http://127.0.0.1:%d/%s/traces' % (port, version), data=body,
                                 method='PUT', headers={'Content-Type': 'application/msgpack'})
    try:
        with urllib.request.urlopen(req, timeout=300) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def at_once(n, fn):
    out = []
    threads = [threading.Thread(target=lambda: out.append(fn())) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted(out)


def one_map():
    return payload('v0.5', [[SPAN['v0.5'](1, 1, 22_500_000)]])


def amplified():
    return payload('v0.5', [[SPAN['v0.5'](2, i + 1, 450_000) for i in range(30)]])


def huge_trace_parts(spans, per_payload=100_000):
    start = time.time_ns() - 60 * 10**9
    for first in range(0, spans, per_payload):
        yield msgpack.packb([[{'trace_id': 3, 'span_id': first + i + 1, 'parent_id': 1 if first + i else 0,
                               'service': 'web', 'name': 'op', 'resource': 'r%d' % (i % 50),
                               'start': start + i, 'duration': 1000, 'meta': {'k': 'v'}}
                              for i in range(min(per_payload, spans - first))]])


def scenario(name, quick):
    with tempfile.TemporaryDirectory() as d:
        proc, port = agent_client.start_agent(d, '--max-inflight', str(BUDGET))
        try:
            time.sleep(0.3)
            base = vm_hwm_bytes(proc.pid)
            if name == 'one-map':
                result = [put(port, 'v0.5', one_map())]
            elif name == 'three-maps':
                body = one_map()
                result = at_once(3, lambda: put(port, 'v0.5', body))
            elif name == 'amplified':
                body = amplified()
                result = at_once(3, lambda: put(port, 'v0.5', body))
            else:
                spans = 200_000 if quick else 1_300_000
                for part in huge_trace_parts(spans):
                    assert put(port, 'v0.4', part) == 200
                base = vm_hwm_bytes(proc.pid)
                with urllib.request.urlopen('http://127.0.0.1:%d/api/v1/traces/%016x' % (port, 3),
                                            timeout=300) as r:
                    raw = r.read()
                result = ['%d spans stored, %.1f MiB answer' % (spans, len(raw) / 2**20)]
            peak = vm_hwm_bytes(proc.pid)
        finally:
            proc.terminate()
            proc.wait(30)
    return base, peak, result


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--quick', action='store_true', help='a 200 k-span trace instead of 1.3 M')
    ap.add_argument('--only', help='one scenario')
    args = ap.parse_args()
    names = [args.only] if args.only else ['one-map', 'three-maps', 'amplified', 'huge-trace']
    print('ctrace-agent peak memory (%s), --max-inflight %d MiB, target: growth < budget + %d MiB'
          % (agent_client.agent_binary(), BUDGET >> 20, CONSTANT >> 20))
    print('%-11s %10s %10s %10s  %-4s %s' % ('scenario', 'start MiB', 'peak MiB', 'growth', '', 'answers'))
    for name in names:
        base, peak, result = scenario(name, args.quick)
        growth = peak - base
        ok = 'ok' if growth < BUDGET + CONSTANT else 'FAIL'
        print('%-11s %10.1f %10.1f %10.1f  %-4s %s' % (name, base / 2**20, peak / 2**20,
                                                      growth / 2**20, ok, result))


if __name__ == '__main__':
    main()
