"""Helpers shared by the ctrace-agent benchmark: finding and starting the
binary, and a minimal keep-alive HTTP/1.1 client over a raw socket (the
standard library's http.client costs more per request than the agent)."""
import os
import re
import shutil
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


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
    found = shutil.which('ctrace-agent')
    if found:
        return found
    raise SystemExit('ctrace-agent not found: build it (meson compile -C build/agent) or set CTRACE_AGENT')


def start_agent(data_dir, *extra):
    """Starts the agent on a free port; returns (process, port)."""
    proc = subprocess.Popen([agent_binary(), '--listen', '127.0.0.1:0', '--data', data_dir, *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    line = proc.stdout.readline()
    m = re.search(r'listening on http://127\.0\.0\.1:(\d+)', line)
    if not m:
        proc.kill()
        raise SystemExit('agent did not start: ' + line + proc.stdout.read())
    return proc, int(m.group(1))


class Conn:
    def __init__(self, port):
        self.port = port
        self.sock = socket.create_connection(('127.0.0.1', port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b''

    def request(self, method, path, body=b'', headers=None):
        head = ['%s %s HTTP/1.1' % (method, path), 'Host: 127.0.0.1:%d' % self.port,
                'Content-Length: %d' % len(body)]
        for k, v in (headers or {}).items():
            head.append('%s: %s' % (k, v))
        self.sock.sendall(('\r\n'.join(head) + '\r\n\r\n').encode() + body)
        while b'\r\n\r\n' not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError('closed')
            self.buf += chunk
        header, self.buf = self.buf.split(b'\r\n\r\n', 1)
        status = int(header.split(b' ', 2)[1])
        m = re.search(rb'(?i)content-length:\s*(\d+)', header)
        n = int(m.group(1)) if m else 0
        while len(self.buf) < n:
            chunk = self.sock.recv(max(65536, n - len(self.buf)))
            if not chunk:
                raise ConnectionError('closed')
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n:]
        return status, data

    def close(self):
        self.sock.close()


def wait_ready(port, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        try:
            c = Conn(port)
            st, _ = c.request('GET', '/info')
            c.close()
            if st == 200:
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit('agent not answering on port %d' % port)
