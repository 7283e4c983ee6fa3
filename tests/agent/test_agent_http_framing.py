"""HTTP framing at the intake, over raw sockets: what libmicrohttpd would
let through or answer with a silent close gets a status and a reason
(conflicting Content-Length, HTTP/1.1 without Host, a method intake does
not take, an encoded body, a huge chunk size, a malformed request line),
nothing of it is stored, and a body over the limit sent without Expect
can still read its 413."""
import gzip
import http.client
import socket
import time

import msgpack
import pytest

from agent_harness import read_until_closed, span, trace_count

GOOD = msgpack.packb([[span(1, 1)]], use_bin_type=True)


def exchange(agent, head, body=b''):
    """Sends head (CRLF-joined lines) and body; returns (status, raw reply)."""
    s = socket.create_connection(('127.0.0.1', agent.port), timeout=10)
    try:
        s.sendall(b'\r\n'.join(head) + b'\r\n\r\n' + body)
        reply = read_until_closed(s)
    finally:
        s.close()
    assert reply, 'closed with no status'
    return int(reply.split(b' ', 2)[1]), reply


def intake(method=b'PUT', version=b'HTTP/1.1', host=True, extra=()):
    head = [method + b' /v0.4/traces ' + version, b'Content-Type: application/msgpack',
            b'Connection: close']
    if host:
        head.append(b'Host: 127.0.0.1')
    return head + list(extra)


@pytest.mark.parametrize('lengths', [(len(GOOD), 5), (len(GOOD), len(GOOD) + 1)])
def test_conflicting_content_lengths_are_a_400(agent, lengths):
    head = intake(extra=[b'Content-Length: %d' % n for n in lengths])
    status, reply = exchange(agent, head, GOOD)
    assert status == 400 and b'Content-Length' in reply
    assert trace_count(agent) == 0


def test_content_length_with_transfer_encoding_is_a_400(agent):
    head = intake(extra=[b'Content-Length: %d' % len(GOOD), b'Transfer-Encoding: chunked'])
    status, reply = exchange(agent, head, b'%x\r\n%s\r\n0\r\n\r\n' % (len(GOOD), GOOD))
    assert status == 400 and b'Transfer-Encoding' in reply
    assert trace_count(agent) == 0


def test_repeated_equal_content_lengths_are_one(agent):
    head = intake(extra=[b'Content-Length: %d' % len(GOOD)] * 2)
    assert exchange(agent, head, GOOD)[0] == 200


def test_http_1_1_without_host_is_a_400(agent):
    head = intake(host=False, extra=[b'Content-Length: %d' % len(GOOD)])
    status, reply = exchange(agent, head, GOOD)
    assert status == 400 and b'Host' in reply
    # HTTP/1.0 has no Host requirement
    head = intake(version=b'HTTP/1.0', host=False, extra=[b'Content-Length: %d' % len(GOOD)])
    assert exchange(agent, head, GOOD)[0] == 200
    assert trace_count(agent) == 1


def allow_header(reply):
    """The Allow header of a raw reply, or None."""
    head = reply.split(b'\r\n\r\n', 1)[0].split(b'\r\n')[1:]
    values = [line.split(b':', 1)[1].strip() for line in head
              if line.split(b':', 1)[0].strip().lower() == b'allow']
    assert len(values) <= 1
    return values[0] if values else None


@pytest.mark.parametrize('method', [b'DELETE', b'GET', b'PATCH'])
def test_intake_takes_only_put_and_post(agent, method):
    status, reply = exchange(agent, intake(method=method))
    assert status == 405 and b'PUT or POST' in reply
    # RFC 9110 15.5.6: a 405 says which methods the resource takes
    assert allow_header(reply) == b'PUT, POST'


@pytest.mark.parametrize('path', [b'/v0.5/traces', b'/v0.4/services', b'/v0.6/stats'])
def test_every_intake_405_carries_allow(agent, path):
    head = [b'DELETE ' + path + b' HTTP/1.1', b'Host: 127.0.0.1', b'Connection: close']
    status, reply = exchange(agent, head)
    assert status == 405 and allow_header(reply) == b'PUT, POST'


@pytest.mark.parametrize('path', ['/api/v1/services', '/'])
def test_the_api_and_ui_405_carries_allow(agent, path):
    status, headers, body = agent.request('POST', path, body=b'{}')
    assert status == 405 and headers['allow'] == 'GET, HEAD'


def test_a_request_that_is_allowed_has_no_allow_header(agent):
    head = intake(extra=[b'Content-Length: %d' % len(GOOD)])
    status, reply = exchange(agent, head, GOOD)
    assert status == 200 and allow_header(reply) is None


def test_a_gzip_body_is_a_415_with_a_reason(agent):
    body = gzip.compress(GOOD)
    head = intake(extra=[b'Content-Encoding: gzip', b'Content-Length: %d' % len(body)])
    status, reply = exchange(agent, head, body)
    assert status == 415 and b'Content-Encoding' in reply
    assert trace_count(agent) == 0


def test_a_huge_chunk_size_gets_a_status(agent):
    head = intake(extra=[b'Transfer-Encoding: chunked'])
    status, _ = exchange(agent, head, b'ffffffffffffffffff\r\n')
    assert status in (400, 413)
    assert agent.request('GET', '/info')[0] == 200


def test_an_over_limit_body_without_expect_reads_its_413(agent_factory):
    a = agent_factory('--max-request-bytes', '1MiB')
    body = b'\x00' * (3 << 20)
    conn = http.client.HTTPConnection('127.0.0.1', a.port, timeout=30)
    # http.client sends no Expect: the whole body goes before the reply is read
    conn.request('PUT', '/v0.4/traces', body, {'Content-Type': 'application/msgpack'})
    resp = conn.getresponse()
    assert resp.status == 413 and b'max_request_bytes' in resp.read()
    conn.close()
    assert a.send('v0.4', GOOD)[0] == 200


# ---- the request line (agent/server/gate.c): libmicrohttpd 0.9.75 closes a
# connection whose line it cannot parse without a status; the gate answers.

def raw_exchange(port, data, pieces=(), pause=0.0):
    """Sends data, then each of pieces after a pause; reads until the agent
    closes. Returns (status, raw reply)."""
    s = socket.create_connection(('127.0.0.1', port), timeout=10)
    try:
        s.sendall(data)
        for p in pieces:
            time.sleep(pause)
            s.sendall(p)
        reply = read_until_closed(s)
    finally:
        s.close()
    assert reply, 'closed with no status'
    return int(reply.split(b' ', 2)[1]), reply


def body_of(reply):
    return reply.split(b'\r\n\r\n', 1)[1]


@pytest.mark.parametrize('line, reason', [
    (b'GARBAGE', b'not METHOD TARGET HTTP/1.x'),
    (b'GET /info\x00 HTTP/1.1', b'NUL byte'),
    (b'GET /info', b'no HTTP version'),
    (b'GET /info HTTP/1.1 extra', b'must end with HTTP/1.x'),
    (b'GET /in\x01fo HTTP/1.1', b'control byte'),
    (b'\x16\x03\x01\x00\xa5\x01', b'control byte'),    # a TLS ClientHello on the plain port
])
def test_a_malformed_request_line_is_a_400_saying_why(agent, line, reason):
    status, reply = raw_exchange(agent.port, line + b'\r\n\r\n')
    assert status == 400, reply
    head = reply.split(b'\r\n\r\n', 1)[0].lower()
    assert b'connection: close' in head and b'x-content-type-options: nosniff' in head
    assert reason in body_of(reply)
    assert agent.request('GET', '/info')[0] == 200


def test_an_over_long_request_line_is_a_414(agent):
    status, reply = raw_exchange(agent.port, b'GET /' + b'a' * 20000 + b' HTTP/1.1\r\n\r\n')
    assert status == 414 and b'longer than 16384' in body_of(reply)
    # a long line within the limit is libmicrohttpd's, and served
    path = '/' + 'a' * 8000
    assert agent.request('GET', path)[0] == 404


def test_a_request_line_split_over_packets_is_served(agent):
    s = socket.create_connection(('127.0.0.1', agent.port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    pieces = [b'GE', b'T /in', b'fo HTTP', b'/1.1\r', b'\nHost: 127.0.0.1\r\n',
              b'Connection: close\r\n\r\n']
    try:
        for p in pieces:
            s.sendall(p)
            time.sleep(0.2)
        reply = read_until_closed(s)
    finally:
        s.close()
    assert reply.startswith(b'HTTP/1.1 200'), reply[:100]
    assert b'"version"' in body_of(reply)


def test_a_line_that_turns_bad_late_is_refused(agent):
    status, reply = raw_exchange(agent.port, b'GET /info HT', [b'TP/1.1\x00\r\n\r\n'], 0.3)
    assert status == 400 and b'NUL byte' in body_of(reply)


def test_a_connection_closed_inside_its_line_gets_a_400(agent):
    s = socket.create_connection(('127.0.0.1', agent.port), timeout=10)
    try:
        s.sendall(b'GET /info HTTP/1')
        s.shutdown(socket.SHUT_WR)
        reply = read_until_closed(s)
    finally:
        s.close()
    assert reply.startswith(b'HTTP/1.1 400') and b'ended inside' in reply


def test_keep_alive_after_a_good_first_line_is_libmicrohttpd_s(agent):
    """The gate judges only a connection's first line; the requests after it
    on a kept-alive connection are parsed by libmicrohttpd alone."""
    s = socket.create_connection(('127.0.0.1', agent.port), timeout=10)
    try:
        get = b'GET /info HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'
        s.sendall(get)
        first = b''
        while b'"version"' not in first or not first.rstrip().endswith(b'}'):
            chunk = s.recv(65536)
            assert chunk, 'closed after the first request'
            first += chunk
        assert first.startswith(b'HTTP/1.1 200')
        s.sendall(get.replace(b'Host', b'Connection: close\r\nHost'))
        second = read_until_closed(s)
    finally:
        s.close()
    assert second.startswith(b'HTTP/1.1 200') and b'"version"' in second


def test_every_refusal_reads_its_400_on_the_unix_socket(agent_factory, tmp_path):
    path = str(tmp_path / 'apm.socket')
    a = agent_factory('--socket', path)
    for line in (b'GARBAGE', b'GET /info\x00 HTTP/1.1'):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(path)
        try:
            s.sendall(line + b'\r\n\r\n')
            reply = read_until_closed(s)
        finally:
            s.close()
        assert reply.startswith(b'HTTP/1.1 400'), reply
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    try:
        s.sendall(b'GET /info HTTP/1.0\r\n\r\n')
        assert read_until_closed(s).startswith(b'HTTP/1.1 200')
    finally:
        s.close()
    assert 'TCP_NODELAY' not in ''.join(a.output)


def test_every_first_line_gets_a_status(agent):
    """Lines made of request-line pieces and stray bytes, each on a new
    connection: the gate answers the malformed ones, libmicrohttpd the rest,
    and none is closed without a status (with libmicrohttpd alone, about
    three in four of these were)."""
    import random
    rnd = random.Random(7)
    pieces = [b'GET', b' ', b'/', b'info', b'HTTP/1.1', b'HTTP/1.0', b'\r', b'\n', b'\x00',
              b'\t', b'a', b'%', b'?', b'\x7f', b'\xff', b':', b'HTTP/', b'1', b'.']
    silent = []
    for _ in range(150):
        line = b''.join(rnd.choice(pieces) for _ in range(rnd.randint(1, 12)))
        s = socket.create_connection(('127.0.0.1', agent.port), timeout=10)
        try:
            s.sendall(line + b'\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n')
            reply = read_until_closed(s)
        except ConnectionResetError:
            reply = b''
        finally:
            s.close()
        if not reply.startswith(b'HTTP/1.1 '):
            silent.append(line)
    assert not silent, silent
