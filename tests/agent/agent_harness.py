"""What the ctrace-agent tests share: the real binary and a process
wrapper around it (Agent), and v0.4/v0.5 payload builders. Fixtures that
use them are in conftest.py.

The binary is $CTRACE_AGENT, else ctrace-agent next to sys.executable (what
`pip install .` installs), else build/agent/agent/ctrace-agent (a plain
meson build)."""
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse

import msgpack
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def agent_binary():
    env = os.environ.get('CTRACE_AGENT')
    if env:
        return env
    near = os.path.join(os.path.dirname(sys.executable), 'ctrace-agent')
    if os.path.exists(near):
        return near
    built = os.path.join(ROOT, 'build', 'agent', 'agent', 'ctrace-agent')
    if os.path.exists(built):
        return built
    pytest.fail('ctrace-agent not found: set CTRACE_AGENT, pip install ., or '
                'meson setup build/agent -Dtracer=false && meson compile -C build/agent')


class Agent:
    """A ctrace-agent process; restartable on the same port and data."""

    def __init__(self, data_dir, args=()):
        self.data_dir = str(data_dir)
        self.args = list(args)
        self.port = 0
        self.proc = None
        self.output = []

    @property
    def url(self):
        return 'http://127.0.0.1:%d' % self.port

    @property
    def db_path(self):
        return os.path.join(self.data_dir, 'ctrace.db')

    def start(self):
        listen = [] if any(a.startswith('--listen') for a in self.args) else [
            '--listen', '127.0.0.1:%d' % self.port]
        self.proc = subprocess.Popen([agent_binary(), *listen, '--data', self.data_dir, *self.args],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        first = self.proc.stdout.readline()
        self.output = [first]
        threading.Thread(target=self._drain, args=(self.proc,), daemon=True).start()
        m = re.search(r'listening on http://(?:\[[^\]]*\]|[^:/]+):(\d+)', first)
        if not m:
            self.proc.wait(5)
            raise AssertionError('agent did not start: %r' % ''.join(self.output))
        self.port = int(m.group(1))
        self.wait_ready()
        return self

    def _drain(self, proc):
        for line in proc.stdout:
            self.output.append(line)

    def wait_output(self, text, timeout=10):
        """True once `text` is in what the agent printed: its lines after the
        first are read by another thread, so a line printed just after
        start-up may not be there yet when start() returns."""
        end = time.time() + timeout
        while text not in ''.join(self.output):
            if time.time() > end:
                return False
            time.sleep(0.02)
        return True

    def wait_ready(self, timeout=10):
        end = time.time() + timeout
        while time.time() < end:
            try:
                if self.request('GET', '/info')[0] == 200:
                    return
            except OSError:
                time.sleep(0.05)
        raise AssertionError('agent not answering /info')

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(20)
        return self.proc.returncode if self.proc else None

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def restart(self):
        self.stop()
        return self.start()

    # ---- HTTP ----
    def request(self, method, path, body=None, headers=None, timeout=30):
        conn = http.client.HTTPConnection('127.0.0.1', self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, dict((k.lower(), v) for k, v in resp.getheaders()), resp.read()
        finally:
            conn.close()

    def send(self, version, payload, content_type='application/msgpack', encode=True, headers=None):
        """PUTs traces; payload is Python data (packed here) or bytes."""
        if encode and not isinstance(payload, (bytes, bytearray)):
            payload = (json.dumps(payload).encode() if 'json' in content_type
                       else msgpack.packb(payload, use_bin_type=True))
        h = {'Datadog-Meta-Lang': 'python'}
        if content_type is not None:
            h['Content-Type'] = content_type
        h.update(headers or {})
        status, hdrs, body = self.request('PUT', '/%s/traces' % version, payload, h)
        return status, body

    def api(self, path, expect=200, **params):
        query = urllib.parse.urlencode(params, doseq=True)
        status, _, body = self.request('GET', path + ('?' + query if query else ''))
        assert status == expect, (path, status, body[:500])
        return json.loads(body)


NOW_NS = time.time_ns()


def span(trace_id, span_id, parent_id=0, **kw):
    """A v0.4 span map with sensible defaults (started a minute ago)."""
    s = {'trace_id': trace_id, 'span_id': span_id, 'parent_id': parent_id,
         'service': 'web', 'name': 'flask.request', 'resource': 'GET /users',
         'type': 'web', 'start': NOW_NS - 60 * 10**9, 'duration': 1_500_000, 'error': 0,
         'meta': {'env': 'test'}, 'metrics': {'_sampling_priority_v1': 1.0}}
    s.update(kw)
    return s


def v05(traces):
    """Encodes v0.4-shaped span dicts as a v0.5 payload ([strings, traces])."""
    table, index = [''], {'': 0}

    def ix(s):
        if s not in index:
            index[s] = len(table)
            table.append(s)
        return index[s]

    out = [[[ix(s['service']), ix(s['name']), ix(s['resource']), s['trace_id'], s['span_id'],
             s['parent_id'], s['start'], s['duration'], s['error'],
             {ix(k): ix(v) for k, v in s.get('meta', {}).items()},
             {ix(k): float(v) for k, v in s.get('metrics', {}).items()}, ix(s.get('type', ''))]
            for s in t] for t in traces]
    return msgpack.packb([table, out], use_bin_type=True)


def assert_refused(port, timeout):
    """A new connection to the agent is closed without an answer (the
    connection limit)."""
    extra = socket.create_connection(('127.0.0.1', port))
    extra.settimeout(timeout)
    try:
        extra.sendall(b'GET /info HTTP/1.1\r\nHost: x\r\n\r\n')
        assert extra.recv(100) == b''     # refused: closed without an answer
    except (ConnectionResetError, BrokenPipeError):
        pass
    finally:
        extra.close()


def read_until_closed(sock):
    """Everything the peer sends until it closes the connection."""
    reply = b''
    while True:
        data = sock.recv(65536)
        if not data:
            return reply
        reply += data


def trace_count(agent):
    return len(agent.api('/api/v1/tail', limit=1000)['traces'])
