"""HTTP framing at the intake, over raw sockets: what libmicrohttpd would
let through or answer with a silent close gets a status and a reason
(conflicting Content-Length, HTTP/1.1 without Host, a method intake does
not take, an encoded body, a huge chunk size), nothing of it is stored,
and a body over the limit sent without Expect can still read its 413."""
import gzip
import http.client
import socket

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
