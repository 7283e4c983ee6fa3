#!/usr/bin/env python3
"""ctrace-agent benchmark: ingest throughput and query latency.

1. Ingest: --clients connections (threads of bench/agent_load.c, one
   request in flight each) send realistic v0.4 and v0.5 payloads (100
   traces x 10 spans, tagged as real ddtrace tags them: ~370 B/span in
   v0.4, see agent_payloads.py) for a fixed time, every request
   with fresh random trace ids and current span starts, as tracers send
   them; spans/s counts only spans answered 200, i.e. durably committed
   (fsynced with --sync full). "agent us" is the agent's CPU time (user +
   system) per stored span, "load us" the load generator's: on a machine
   this small both share the cores, so both are shown.
2. Fill: the database is filled to --spans spans (default 10 million, or
   CTRACE_BENCH_SPANS) with unique trace ids spread over the last hour.
3. Query: p50/p99 latency of trace by id, service overview, resources,
   latency distribution, trace search (service, duration, tag), span-level
   search on non-root spans (service, resource, tag, min-duration with
   error, and a service+resource that matches nothing: the scan limit's
   worst case), tail and the service map over the day.

Usage: bench/bench_agent.py [--spans N] [--clients N] [--seconds S] [--quick]
       [--ingest-only] [--repeat N]
--quick: a short run (under a minute): 4 clients, 5 s per ingest run, a
fill of 300,000 spans and 50 query rounds (bench/run.py passes it).
--repeat N runs each ingest case N times and reports the median.
"""
import argparse
import multiprocessing as mp
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import agent_client  # noqa: E402
import agent_payloads  # noqa: E402

TRACES_PER_PAYLOAD = 100
CTYPE = {'Content-Type': 'application/msgpack', 'Datadog-Meta-Lang': 'python',
         'X-Datadog-Trace-Count': str(TRACES_PER_PAYLOAD)}
FORMATS = ('v0.4', 'v0.5')


def load_binary(workdir):
    """bench/agent_load.c compiled into workdir (the load generator: the
    clients must be far cheaper than the agent they share the cores with)."""
    out = os.path.join(workdir, 'agent_load')
    if not os.path.exists(out):
        subprocess.run([shutil.which('cc') or 'gcc', '-O2', '-pthread', '-o', out,
                        os.path.join(HERE, 'agent_load.c')], check=True)
    return out


def cpu_seconds(pid):
    """User+system time of a running process, from /proc."""
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def _client_fill(port, version, first_payload, n_payloads, stride, start_ns, spread_ns, out):
    tpl = agent_payloads.Template(version, TRACES_PER_PAYLOAD, seed=first_payload)
    conn = agent_client.Conn(port)
    path = '/%s/traces' % version
    sent = 0
    for k in range(first_payload, n_payloads, stride):
        body = tpl.make(1 + k * TRACES_PER_PAYLOAD, start_ns + k * spread_ns // n_payloads,
                        spread_ns // n_payloads)
        status, _ = conn.request('PUT', path, body, CTYPE)
        if status == 200:
            sent += tpl.spans
    conn.close()
    out.put(sent)


def run_parallel(target, args_list):
    q = mp.Queue()
    procs = [mp.Process(target=target, args=(*a, q)) for a in args_list]
    for p in procs:
        p.start()
    results = [q.get() for _ in procs]
    for p in procs:
        p.join()
    return results


def bench_ingest(proc, port, version, clients, seconds, workdir):
    """clients connections sending for seconds; what the agent stored (200
    replies) per second, and what the agent and the load cost in CPU."""
    templates = []
    for seed in range(1, min(clients, 4) + 1):
        path = os.path.join(workdir, '%s-%d.tpl' % (version, seed))
        if not os.path.exists(path):
            agent_payloads.Template(version, TRACES_PER_PAYLOAD, seed=seed).write(path)
        templates.append(path)
    agent_cpu = cpu_seconds(proc.pid)
    out = subprocess.run([load_binary(workdir), str(port), '/%s/traces' % version, str(seconds),
                          str(clients)] + templates, capture_output=True, text=True, check=True).stdout
    agent_cpu = cpu_seconds(proc.pid) - agent_cpu
    r = {k: float(v) for k, v in (field.split('=') for field in out.split())}
    spans = max(r['ok_spans'], 1)
    return {'spans_per_s': r['ok_spans'] / r['elapsed_s'], 'failed': int(r['failed']),
            'requests': int(r['requests']), 'p50_ms': r['p50_ms'], 'p99_ms': r['p99_ms'],
            'agent_us': agent_cpu / spans * 1e6, 'load_us': r['cpu_s'] / spans * 1e6}


def fill(port, total_spans, clients):
    n_payloads = max(1, total_spans // (TRACES_PER_PAYLOAD * agent_payloads.SPANS_PER_TRACE))
    spread = 3000 * 10**9                       # the last 50 minutes
    start_ns = time.time_ns() - 3300 * 10**9
    t0 = time.time()
    res = run_parallel(_client_fill, [(port, 'v0.5', c, n_payloads, clients, start_ns, spread)
                                      for c in range(clients)])
    return sum(res), time.time() - t0, n_payloads


def bench_queries(port, n_payloads, rounds):
    conn = agent_client.Conn(port)
    rng = random.Random(7)
    now = time.time()
    svc = agent_payloads.SERVICES[0]
    n_traces = n_payloads * TRACES_PER_PAYLOAD
    cases = {
        'trace by id (64-bit hex)': lambda: '/api/v1/traces/%016x' % (
            (rng.randrange(n_traces) + 1) if n_traces else 1),
        'trace by id (decimal)': lambda: '/api/v1/traces/%d' % (rng.randrange(n_traces) + 1),
        'services overview (1h)': lambda: '/api/v1/services?start=%d&end=%d' % (now - 3600, now),
        'resources of a service (1h)': lambda: '/api/v1/services/%s/resources?start=%d&end=%d' % (
            svc, now - 3600, now),
        'latency distribution (1h)': lambda: '/api/v1/latency?service=%s&start=%d&end=%d' % (
            svc, now - 3600, now),
        'search: service, 50 newest': lambda: '/api/v1/traces?service=%s&limit=50' % svc,
        'search: all, 5-min window': lambda: (lambda a: '/api/v1/traces?start=%d&end=%d&limit=50' % (
            a, a + 300))(now - 300 - rng.randrange(3000)),
        'search: min_duration 40ms': lambda: '/api/v1/traces?service=%s&min_duration_ns=40000000' % svc,
        'search: error=1': lambda: '/api/v1/traces?error=1&limit=50',
        'search: tag http.route': lambda: '/api/v1/traces?service=%s&tag=http.route:/users/%%3F' % svc,
        # span-level search: every trace's redis span, db span and template
        # span are children of another service's root (agent_payloads.py)
        'span: service of a non-root': lambda: '/api/v1/traces?service=redis&limit=50',
        'span: resource of a non-root': lambda: '/api/v1/traces?resource=index.html&limit=50',
        'span: tag on a non-root': lambda: '/api/v1/traces?tag=db.system:postgresql&limit=50',
        'span: min_duration+error non-root': lambda: (
            '/api/v1/traces?service=redis&min_duration_ns=150000&error=1&limit=50'),
        'span: service+resource, rare': lambda: (
            '/api/v1/traces?service=%s-db&resource=nosuch&limit=50' % svc),
        'tail (100 newest)': lambda: '/api/v1/tail?limit=100',
        'service map (1d)': lambda: '/api/v1/servicemap?start=%d&end=%d' % (now - 86400, now),
    }
    out = {}
    for name, make in cases.items():
        lat = []
        for _ in range(rounds):
            path = make()
            t0 = time.perf_counter()
            status, body = conn.request('GET', path)
            lat.append(time.perf_counter() - t0)
            if status != 200:
                raise SystemExit('%s -> %d %s' % (path, status, body[:200]))
        lat.sort()
        out[name] = (statistics.median(lat) * 1e3, lat[int(len(lat) * 0.99) - 1] * 1e3, len(body))
    conn.close()
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--spans', type=int, default=int(os.environ.get('CTRACE_BENCH_SPANS', 10_000_000)))
    ap.add_argument('--clients', default=os.environ.get('CTRACE_BENCH_CLIENTS', '4,16'),
                    help='comma-separated client counts for the ingest runs; the fill uses the first')
    ap.add_argument('--seconds', type=float, default=float(os.environ.get('CTRACE_BENCH_SECONDS', 10)))
    ap.add_argument('--rounds', type=int, default=200)
    ap.add_argument('--sync', default='full', choices=['full', 'normal'])
    ap.add_argument('--quick', action='store_true', help='a short run (< 60 s)')
    ap.add_argument('--ingest-only', action='store_true', help='skip the fill and the queries')
    ap.add_argument('--repeat', type=int, default=1, help='ingest runs per case; the median is shown')
    args = ap.parse_args()
    if args.quick:
        args.clients, args.seconds, args.spans, args.rounds = '4', 5.0, min(args.spans, 300_000), 50

    data = tempfile.mkdtemp(prefix='ctrace-bench-')
    try:
        clients = [int(c) for c in str(args.clients).split(',')]
        print('ctrace-agent benchmark: %s, data in %s, %d CPUs' % (
            agent_client.agent_binary(), data, os.cpu_count()))
        size = {v: len(agent_payloads.Template(v, TRACES_PER_PAYLOAD).raw) /
                (TRACES_PER_PAYLOAD * agent_payloads.SPANS_PER_TRACE) for v in FORMATS}
        print('\n== ingest (%d traces x %d spans per request, %.0f / %.0f B per span in'
              ' v0.4 / v0.5, %.0f s each, sync=%s) ==' % (
                  TRACES_PER_PAYLOAD, agent_payloads.SPANS_PER_TRACE, size['v0.4'], size['v0.5'],
                  args.seconds, args.sync))
        print('%-8s %8s %14s %10s %9s %11s %11s %10s %10s' % (
            'format', 'clients', 'spans/s', 'requests', 'failed', 'req p50 ms', 'req p99 ms',
            'agent us', 'load us'))
        for version, n_clients in [(v, c) for c in clients for v in FORMATS]:
            runs = []
            for _ in range(max(1, args.repeat)):
                d = tempfile.mkdtemp(dir=data)
                proc, port = agent_client.start_agent(d, '--retention', '0', '--max-size', '0',
                                                      '--sync', args.sync)
                try:
                    runs.append(bench_ingest(proc, port, version, n_clients, args.seconds, data))
                finally:
                    proc.terminate()
                    proc.wait()
                shutil.rmtree(d, ignore_errors=True)
            runs.sort(key=lambda x: x['spans_per_s'])
            r = runs[len(runs) // 2]
            if len(runs) > 1:
                r['failed'] = sum(x['failed'] for x in runs)
                r['agent_us'] = statistics.median(x['agent_us'] for x in runs)
                r['load_us'] = statistics.median(x['load_us'] for x in runs)
                print('  %s runs: %s' % (version, ', '.join('{:,.0f}'.format(x['spans_per_s']) for x in runs)))
            print('%-8s %8d %14s %10d %9d %11.1f %11.1f %10.2f %10.2f' % (
                version, n_clients, '{:,.0f}'.format(r['spans_per_s']), r['requests'], r['failed'],
                r['p50_ms'], r['p99_ms'], r['agent_us'], r['load_us']))

        if args.ingest_only:
            return
        d = tempfile.mkdtemp(dir=data)
        proc, port = agent_client.start_agent(d, '--retention', '0', '--max-size', '0', '--sync', args.sync)
        try:
            print('\n== fill: %s spans (v0.5, unique trace ids over the last hour) ==' % '{:,}'.format(args.spans))
            stored, secs, n_payloads = fill(port, args.spans, clients[0])
            size = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))
            print('stored %s spans in %.1f s (%s spans/s); database %.0f MiB (%.0f B/span)' % (
                '{:,}'.format(stored), secs, '{:,.0f}'.format(stored / secs), size / 2**20,
                size / max(stored, 1)))
            time.sleep(1)
            print('\n== queries at %s spans (%d rounds each, one client) ==' % ('{:,}'.format(stored), args.rounds))
            print('%-32s %9s %9s %10s' % ('query', 'p50 ms', 'p99 ms', 'bytes'))
            for name, (p50, p99, size) in bench_queries(port, n_payloads, args.rounds).items():
                print('%-32s %9.2f %9.2f %10d' % (name, p50, p99, size))
        finally:
            proc.terminate()
            proc.wait()
    finally:
        shutil.rmtree(data, ignore_errors=True)


if __name__ == '__main__':
    main()
