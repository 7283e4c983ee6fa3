#!/usr/bin/env python3
"""ctrace-agent's cost of a new connection.

--connections times over, a client opens a connection, sends GET /info
with Connection: close and reads the answer to the end (as a tracer that
does not keep its connection alive does). Reported: the agent's CPU (user
+ system, from /proc/PID/stat) and the wall time per connection, the
median of --runs runs. Every connection passes the agent's gate
(agent/server/gate.c) before libmicrohttpd serves it, so this is what
accepting, peeking at the first line and handing over cost together.

Usage: bench/bench_agent_connections.py [--connections N] [--runs N]
(CTRACE_AGENT picks the binary, e.g. another build's, to compare.)
"""
import argparse
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

REQUEST = b'GET /info HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n'


def cpu_seconds(pid):
    fields = open('/proc/%d/stat' % pid).read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def one_run(port, pid, n):
    c0, t0 = cpu_seconds(pid), time.perf_counter()
    for _ in range(n):
        s = socket.create_connection(('127.0.0.1', port))
        s.sendall(REQUEST)
        while s.recv(65536):
            pass
        s.close()
    return (cpu_seconds(pid) - c0) / n, (time.perf_counter() - t0) / n


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--connections', type=int, default=10000)
    ap.add_argument('--runs', type=int, default=3)
    args = ap.parse_args()
    data = tempfile.mkdtemp(prefix='ctrace-bench-conn-')
    proc, port = agent_client.start_agent(data, '--retention', '0', '--max-size', '0')
    try:
        agent_client.wait_ready(port)
        print('ctrace-agent, a new connection per request: %s, %d CPUs'
              % (agent_client.agent_binary(), os.cpu_count()))
        runs = [one_run(port, proc.pid, args.connections) for _ in range(args.runs)]
        cpu = statistics.median(r[0] for r in runs) * 1e6
        wall = statistics.median(r[1] for r in runs) * 1e6
        print('%d connections x %d runs: agent CPU %.0f us, wall %.0f us per connection (medians)'
              % (args.connections, args.runs, cpu, wall))
    finally:
        proc.terminate()
        proc.wait(20)
        shutil.rmtree(data, ignore_errors=True)


if __name__ == '__main__':
    main()
