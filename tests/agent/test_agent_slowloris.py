"""Slow and idle clients (slowloris): held connections cost the agent a
descriptor each, never a well-behaved client's service, and a request that
trickles in a byte at a time is cut at its deadline, which bytes do not
move. Timing figures (p99 under held connections) are in
bench/bench_slowloris.py; here requests must only succeed within a
generous timeout."""
import socket
import threading
import time

import msgpack

from agent_harness import assert_refused, span, trace_count

HELD = 1000


class HeldConnections:
    """HELD connections to the agent, half idle, half sending a request
    header one byte a second (never finishing it); bounded by stop()."""

    def __init__(self, port, count=HELD):
        self.sockets = []
        for _ in range(count):
            self.sockets.append(socket.create_connection(('127.0.0.1', port), timeout=10))
        self.stop_flag = threading.Event()
        self.header = b'PUT /v0.4/traces HTTP/1.1\r\nHost: localhost\r\nX-Slow: ' + b'a' * 10000
        self.thread = threading.Thread(target=self._trickle, daemon=True)
        self.thread.start()

    def _trickle(self):
        i = 0
        while not self.stop_flag.wait(1.0) and i < len(self.header):
            for s in self.sockets[::2]:
                try:
                    s.send(self.header[i:i + 1])
                except OSError:
                    pass
            i += 1

    def closed_by_agent(self, timeout):
        """How many of the held connections the agent has closed."""
        closed = 0
        for s in self.sockets:
            s.settimeout(timeout)
            try:
                closed += s.recv(4096) == b''
            except socket.timeout:
                pass
            except OSError:
                closed += 1
        return closed

    def stop(self):
        self.stop_flag.set()
        self.thread.join(5)
        for s in self.sockets:
            s.close()


def test_a_client_is_served_while_a_thousand_connections_are_held(agent_factory):
    a = agent_factory('--connection-timeout', '60')
    held = HeldConnections(a.port)
    try:
        time.sleep(2)        # every held one accepted and trickling
        results = []

        def client(i):
            for j in range(5):
                payload = msgpack.packb([[span(5000 + i * 10 + j, 1)]])
                results.append(a.send('v0.4', payload)[0])
                results.append(a.request('GET', '/info', timeout=10)[0])
                results.append(a.request('GET', '/api/v1/services', timeout=10)[0])

        threads = [threading.Thread(target=client, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert results == [200] * 60
        assert trace_count(a) == 20
        # none of the held connections was dropped to make room
        assert held.closed_by_agent(0.01) == 0
    finally:
        held.stop()


def trickle(s, data, every):
    """Sends data a byte every `every` seconds until the agent closes the
    connection; returns how long that took, or None if it never did."""
    t0 = time.monotonic()
    s.settimeout(every)
    for i in range(len(data)):
        try:
            s.send(data[i:i + 1])
            if s.recv(4096) == b'':
                return time.monotonic() - t0
        except socket.timeout:
            continue
        except OSError:
            return time.monotonic() - t0
    return None


def test_a_request_trickling_in_is_cut_at_its_deadline(agent_factory):
    """libmicrohttpd's timeout counts idleness, which each byte resets: a
    byte every half second kept a connection (and before the epoll pool
    its thread) forever. The deadline closes it after --connection-timeout
    however the bytes come."""
    a = agent_factory('--connection-timeout', '2')
    s = socket.create_connection(('127.0.0.1', a.port), timeout=10)
    header = b'PUT /v0.4/traces HTTP/1.1\r\nHost: localhost\r\nX-Slow: ' + b'a' * 100
    closed_after = trickle(s, header, 0.5)
    s.close()
    assert closed_after is not None and closed_after < 10, closed_after
    assert a.request('GET', '/info')[0] == 200


def test_a_body_trickling_in_is_cut_at_its_deadline(agent_factory):
    a = agent_factory('--connection-timeout', '2')
    body = msgpack.packb([[span(1, 1)]])
    s = socket.create_connection(('127.0.0.1', a.port), timeout=10)
    s.sendall(b'PUT /v0.4/traces HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/msgpack\r\n'
              b'Content-Length: %d\r\n\r\n' % len(body))
    closed_after = trickle(s, body[:-1], 0.4)   # never the last byte
    s.close()
    assert closed_after is not None and closed_after < 10, closed_after
    assert trace_count(a) == 0


def test_a_keep_alive_connection_gets_a_fresh_deadline_per_request(agent_factory):
    """The deadline counts one request, not the connection's life: a
    tracer's keep-alive connection sending every second lives on."""
    import http.client
    a = agent_factory('--connection-timeout', '2')
    conn = http.client.HTTPConnection('127.0.0.1', a.port, timeout=10)
    sock_before = None
    for i in range(5):               # 5 s of requests over one connection
        conn.request('PUT', '/v0.4/traces', msgpack.packb([[span(900 + i, 1)]]),
                     {'Content-Type': 'application/msgpack'})
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 200
        if sock_before is None:
            sock_before = conn.sock
        assert conn.sock is sock_before      # the same connection throughout
        time.sleep(1)
    conn.close()


def limits_of(pid):
    with open('/proc/%d/limits' % pid) as f:
        line = next(l for l in f if l.startswith('Max open files'))
    soft, hard = line.split()[3:5]
    return int(soft), int(hard)


def start_with_nofile(tmp_path, soft, hard, *args):
    import resource
    import subprocess
    from agent_harness import agent_binary

    def limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return subprocess.Popen([agent_binary(), '--listen', '127.0.0.1:0', '--data', str(tmp_path), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            preexec_fn=limit)


def test_the_descriptor_limit_is_raised_to_fit_the_connections(tmp_path):
    proc = start_with_nofile(tmp_path, 1024, 8192)
    try:
        assert 'listening on' in proc.stdout.readline()
        soft, hard = limits_of(proc.pid)
        assert soft >= 4096 + 256 and hard == 8192
    finally:
        proc.terminate()
        proc.wait(20)


def test_connections_are_lowered_to_what_the_hard_limit_allows(tmp_path):
    proc = start_with_nofile(tmp_path, 600, 600)
    try:
        out = proc.stdout.readline()
        assert 'the descriptor limit (600) allows 344 connections, not 4096' in out, out
        assert 'listening on' in proc.stdout.readline()
    finally:
        proc.terminate()
        proc.wait(20)


def test_the_first_lines_time_counts_in_the_request_s_deadline(agent_factory):
    """The gate (agent/server/gate.c) waits for a connection's first line,
    then hands it to libmicrohttpd: the deadline goes with it, so a first
    line that took most of the timeout leaves only the rest for the
    headers, not a second full timeout."""
    a = agent_factory('--connection-timeout', '3')
    s = socket.create_connection(('127.0.0.1', a.port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    t0 = time.monotonic()
    for i, piece in enumerate((b'PUT /v0.4', b'/traces HT', b'TP/1.1\r\n')):
        time.sleep(1.2 if i else 0)  # whole after 2.4 s in the gate
        s.sendall(piece)
    closed_after = trickle(s, b'Host: localhost\r\nX-Slow: ' + b'a' * 100, 0.3)
    total = time.monotonic() - t0
    s.close()
    assert closed_after is not None, 'never closed'
    # the deadline is 3 s from the connection's start (reaped to 250 ms);
    # a fresh one in libmicrohttpd would close it at 5.4 s or later
    assert total < 4.5, total


def test_connections_waiting_for_their_first_line_count_against_the_limit(agent_factory):
    a = agent_factory('--max-connections', '8', '--connection-timeout', '20')
    time.sleep(0.5)      # the readiness probe's connection closed and uncounted
    idle = [socket.create_connection(('127.0.0.1', a.port), timeout=10) for _ in range(8)]
    try:
        time.sleep(0.5)              # every one accepted and waiting in the gate
        for s in idle:               # none of them refused
            s.setblocking(False)
            try:
                assert s.recv(1) != b''
            except BlockingIOError:
                pass
        assert_refused(a.port, 5)
    finally:
        for s in idle:
            s.close()
    time.sleep(0.3)
    assert a.request('GET', '/info')[0] == 200
