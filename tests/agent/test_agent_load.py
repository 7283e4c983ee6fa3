"""ctrace-agent under load: 50 concurrent clients for several seconds, most
sending valid payloads (v0.4, v0.5, JSON; new and kept-alive connections),
some sending garbage and some stalling in the middle of a body.

Checked: every valid client is served (every request answered, all 200);
the agent's resident memory stays bounded (it does not grow with the
number of requests once warm); and nothing acknowledged is lost: every
trace of every payload that got a 200 is found afterwards, also after a
restart (acknowledged means committed, see test_agent_durability.py).
"""
import http.client
import json
import os
import random
import socket
import sqlite3
import threading
import time

import msgpack

from agent_harness import span, v05

CLIENTS = 50
GARBAGE_CLIENTS = 6
STALLING_CLIENTS = 6
VALID_CLIENTS = CLIENTS - GARBAGE_CLIENTS - STALLING_CLIENTS
DURATION = 8.0
PAGE = os.sysconf('SC_PAGE_SIZE')


def rss(pid):
    with open('/proc/%d/statm' % pid) as f:
        return int(f.read().split()[1]) * PAGE


def under_sanitizer(pid):
    """AddressSanitizer keeps freed memory in quarantine (up to 256 MiB)
    and ThreadSanitizer shadows every byte: RSS says nothing about leaks
    there (LeakSanitizer does)."""
    with open('/proc/%d/maps' % pid) as f:
        maps = f.read()
    return 'libasan' in maps or 'libtsan' in maps


def payload_of(kind, trace_ids):
    traces = [[span(t, 1, resource='GET /load/%d' % t, meta={'env': 'load', 'k': 'v' * 200}),
               span(t, 2, 1, name='db.query', service='db')] for t in trace_ids]
    if kind == 'v0.5':
        return '/v0.5/traces', v05(traces), 'application/msgpack'
    if kind == 'json':
        return '/v0.4/traces', json.dumps(traces).encode(), 'application/json'
    return '/v0.4/traces', msgpack.packb(traces, use_bin_type=True), 'application/msgpack'


class Load:
    def __init__(self, agent):
        self.agent = agent
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.acked = []        # trace ids of payloads answered 200
        self.failures = []     # what a valid client saw that it should not have
        self.requests = 0
        self.garbage_answers = {}
        self.sent = [0] * VALID_CLIENTS   # payloads per client, across runs: ids stay unique

    def valid_client(self, n):
        rng = random.Random(n * 7919 + self.sent[n])
        conn = None
        while not self.stop.is_set():
            i = self.sent[n]
            self.sent[n] += 1
            ids = [(n + 1) * 10_000_000 + i * 10 + k for k in range(1, 1 + rng.randint(1, 5))]
            path, body, ctype = payload_of(rng.choice(['v0.4', 'v0.5', 'json']), ids)
            try:
                if conn is None or rng.random() < 0.3:   # new connections and kept-alive ones
                    if conn:
                        conn.close()
                    conn = http.client.HTTPConnection('127.0.0.1', self.agent.port, timeout=20)
                conn.request('PUT', path, body=body, headers={
                    'Content-Type': ctype, 'Datadog-Meta-Lang': 'python',
                    'X-Datadog-Trace-Count': str(len(ids))})
                resp = conn.getresponse()
                resp.read()
                status = resp.status
            except (OSError, http.client.HTTPException) as e:
                with self.lock:
                    self.failures.append((n, repr(e)))
                conn = None
                continue
            with self.lock:
                self.requests += 1
                if status == 200:
                    self.acked.extend(ids)
                else:
                    self.failures.append((n, status))
        if conn:
            conn.close()

    def garbage_client(self, n):
        rng = random.Random(1000 + n)
        while not self.stop.is_set():
            try:
                if n % 2:   # raw bytes that are not HTTP at all
                    with socket.create_connection(('127.0.0.1', self.agent.port), timeout=5) as s:
                        s.sendall(os.urandom(rng.randint(1, 20000)))
                        s.shutdown(socket.SHUT_WR)
                        s.recv(1000)
                    status = 'raw'
                else:       # well-formed HTTP, garbage body
                    conn = http.client.HTTPConnection('127.0.0.1', self.agent.port, timeout=10)
                    conn.request('PUT', rng.choice(['/v0.4/traces', '/v0.5/traces', '/v0.3/traces']),
                                 body=os.urandom(rng.randint(0, 50000)),
                                 headers={'Content-Type': 'application/msgpack'})
                    resp = conn.getresponse()
                    resp.read()
                    status = resp.status
                    conn.close()
            except (OSError, http.client.HTTPException):
                status = 'closed'
            with self.lock:
                self.garbage_answers[status] = self.garbage_answers.get(status, 0) + 1

    def stalling_client(self, n):
        path, body, ctype = payload_of('v0.4', [999_000_000 + n])
        while not self.stop.is_set():
            try:
                s = socket.create_connection(('127.0.0.1', self.agent.port), timeout=5)
                s.sendall(b'PUT %s HTTP/1.1\r\nHost: localhost\r\nContent-Type: %s\r\n'
                          b'Content-Length: %d\r\n\r\n' % (path.encode(), ctype.encode(), len(body)) +
                          body[:len(body) // 2])
                self.stop.wait(1.5)   # never sends the rest; the connection is held open
                s.close()
            except OSError:
                pass

    def run(self, seconds):
        self.stop.clear()
        threads = ([threading.Thread(target=self.valid_client, args=(n,)) for n in range(VALID_CLIENTS)] +
                   [threading.Thread(target=self.garbage_client, args=(n,)) for n in range(GARBAGE_CLIENTS)] +
                   [threading.Thread(target=self.stalling_client, args=(n,)) for n in range(STALLING_CLIENTS)])
        for t in threads:
            t.start()
        time.sleep(seconds)
        self.stop.set()
        for t in threads:
            t.join(30)
            assert not t.is_alive(), 'a client never got an answer'


def missing_traces(agent, ids, through_api=300):
    """The acknowledged ids not stored with both spans: all of them checked
    in the database file (read-only, as a second reader of the WAL), and a
    random sample through the query API."""
    db = sqlite3.connect('file:%s?mode=ro' % agent.db_path, uri=True, timeout=20)
    try:
        stored = dict(db.execute('SELECT trace_id, span_count FROM traces'))
    finally:
        db.close()
    missing = [(t, stored.get(t)) for t in ids if stored.get(t) != 2]
    conn = http.client.HTTPConnection('127.0.0.1', agent.port, timeout=20)
    for t in random.Random(0).sample(ids, min(through_api, len(ids))):
        conn.request('GET', '/api/v1/traces/%d' % t)
        resp = conn.getresponse()
        body = resp.read()
        if resp.status != 200 or json.loads(body)['span_count'] != 2:
            missing.append((t, resp.status))
    conn.close()
    return missing


def test_fifty_clients_with_garbage_and_stalls_lose_nothing_acknowledged(agent_factory):
    agent = agent_factory('--connection-timeout', '3')
    load = Load(agent)
    load.run(DURATION / 4)                 # warm: SQLite cache, buffers, thread stacks
    warm_rss = rss(agent.proc.pid)
    warm_requests = load.requests
    peak = warm_rss
    sampler_stop = threading.Event()

    def sample():
        nonlocal peak
        while not sampler_stop.wait(0.1):
            peak = max(peak, rss(agent.proc.pid))

    sampler = threading.Thread(target=sample)
    sampler.start()
    load.run(DURATION)
    sampler_stop.set()
    sampler.join()
    served = load.requests - warm_requests

    assert not load.failures, load.failures[:10]
    assert served > 20 * VALID_CLIENTS, 'valid clients were starved: %d requests' % served
    assert set(load.garbage_answers) <= {400, 413, 415, 'raw', 'closed'}, load.garbage_answers
    assert load.garbage_answers.get(400, 0) > 0
    grown = peak - warm_rss
    assert grown < 64 * 1024 * 1024 or under_sanitizer(agent.proc.pid), 'agent RSS grew by %d MiB under load (warm: %d MiB)' % (
        grown >> 20, warm_rss >> 20)
    assert agent.proc.poll() is None, 'the agent died'

    acked = sorted(set(load.acked))
    assert len(acked) == len(load.acked)
    assert missing_traces(agent, acked) == []
    agent.restart()                         # committed means on disk
    assert missing_traces(agent, acked) == []
    print('%d requests served, %d traces acknowledged, garbage answers %r, RSS warm %d MiB peak %d MiB'
          % (load.requests, len(acked), load.garbage_answers, warm_rss >> 20, peak >> 20))
