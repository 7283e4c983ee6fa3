#!/usr/bin/env python3
"""ctrace-agent under slow and idle clients (slowloris).

A child process holds --held connections to the agent over loopback: half
idle (connected, nothing sent), half sending a request header one byte a
second and never finishing it. Meanwhile one well-behaved client makes
--requests requests, each on a new connection as a tracer's flush may:
in turn a v0.4 payload (10 traces x 10 spans, answered after its commit
and fsync), GET /info and GET /api/v1/services. The same client runs first
with no connection held, as the baseline. Reported: p50/p99/max latency
per scenario, and whether every request succeeded. Target: p99 under
100 ms with 1,000 connections held.

Usage: bench/bench_slowloris.py [--held N] [--requests N] [--quick]
"""
import argparse
import multiprocessing as mp
import os
import shutil
import socket
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import agent_client  # noqa: E402
import agent_payloads  # noqa: E402

TARGET_P99_MS = 100.0


def hold(port, count, ready, stop):
    """Holds count connections until stop is set (bounded by the caller)."""
    socks = [socket.create_connection(('127.0.0.1', port), timeout=10) for _ in range(count)]
    ready.set()
    header = b'PUT /v0.4/traces HTTP/1.1\r\nHost: localhost\r\nX-Slow: ' + b'a' * 100000
    i = 0
    while not stop.wait(1.0) and i < len(header):
        for s in socks[::2]:
            try:
                s.send(header[i:i + 1])
            except OSError:
                pass
        i += 1
    for s in socks:
        s.close()


def measure(port, requests):
    payload = agent_payloads.Template('v0.4', 10)
    headers = {'Content-Type': 'application/msgpack', 'Datadog-Meta-Lang': 'python'}
    times, failed = [], 0
    for i in range(requests):
        kind = i % 3
        t0 = time.perf_counter()
        try:
            c = agent_client.Conn(port)
            if kind == 0:
                status, _ = c.request('PUT', '/v0.4/traces', payload.make(1 + i * 10, time.time_ns() - 10**9), headers)
            elif kind == 1:
                status, _ = c.request('GET', '/info')
            else:
                status, _ = c.request('GET', '/api/v1/services')
            c.close()
        except OSError:
            status = 0
        times.append((time.perf_counter() - t0) * 1000)
        failed += status != 200
    times.sort()
    return {'p50': statistics.median(times), 'p99': times[min(len(times) - 1, int(len(times) * 0.99))],
            'max': times[-1], 'failed': failed, 'n': len(times)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--held', type=int, default=1000)
    ap.add_argument('--requests', type=int, default=600)
    ap.add_argument('--quick', action='store_true', help='a short run (~15 s)')
    args = ap.parse_args()
    if args.quick:
        args.requests = 150
    data = tempfile.mkdtemp(prefix='ctrace-slowloris-')
    proc, port = agent_client.start_agent(data, '--retention', '0', '--max-size', '0')
    try:
        agent_client.wait_ready(port)
        print('ctrace-agent under slow clients: %s, %d CPUs' % (agent_client.agent_binary(), os.cpu_count()))
        print('%-34s %9s %9s %9s %8s %6s' % ('scenario', 'p50 ms', 'p99 ms', 'max ms', 'failed', 'p99'))
        rows = [('no connection held', measure(port, args.requests))]
        ready, stop = mp.Event(), mp.Event()
        holder = mp.Process(target=hold, args=(port, args.held, ready, stop))
        holder.start()
        try:
            if not ready.wait(60):
                raise SystemExit('could not open %d connections' % args.held)
            time.sleep(2)
            rows.append(('%d held (half idle, half slow)' % args.held, measure(port, args.requests)))
        finally:
            stop.set()
            holder.join(30)
        for name, r in rows:
            verdict = 'ok' if r['p99'] < TARGET_P99_MS and not r['failed'] else 'FAIL'
            print('%-34s %9.2f %9.2f %9.2f %8d %6s' % (name, r['p50'], r['p99'], r['max'],
                                                     r['failed'], verdict))
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(data, ignore_errors=True)


if __name__ == '__main__':
    main()
