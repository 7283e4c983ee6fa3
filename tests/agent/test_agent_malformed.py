"""Malformed payloads are rejected with the right status and a one-line
reason, and nothing of them is stored; the agent keeps serving."""
import json
import os
import sqlite3

import msgpack
import pytest

from agent_harness import span, trace_count, v05

GOOD = msgpack.packb([[span(1, 1), span(1, 2, 1)]], use_bin_type=True)


def nested(depth):
    v = 'x'
    for _ in range(depth):
        v = [v]
    return v


CASES = {
    'truncated msgpack': ('v0.4', GOOD[:-7], 'application/msgpack', 400),
    'truncated in a header': ('v0.4', b'\xdd\x00\x00', 'application/msgpack', 400),
    'zero length': ('v0.4', b'', 'application/msgpack', 400),
    'zero length v0.5': ('v0.5', b'', 'application/msgpack', 400),
    'not an array': ('v0.4', msgpack.packb({'a': 1}), 'application/msgpack', 400),
    'span not a map': ('v0.4', msgpack.packb([[1, 2]]), 'application/msgpack', 400),
    'trace_id is a string': ('v0.4', msgpack.packb([[dict(span(1, 1), trace_id='1')]]), 'application/msgpack', 400),
    'name is an int': ('v0.4', msgpack.packb([[dict(span(1, 1), name=5)]]), 'application/msgpack', 400),
    'meta value is an int': ('v0.4', msgpack.packb([[dict(span(1, 1), meta={'a': 1})]]), 'application/msgpack', 400),
    'metrics value is a string': ('v0.4', msgpack.packb([[dict(span(1, 1), metrics={'a': 'x'})]]), 'application/msgpack', 400),
    'metrics value is float32': ('v0.4', msgpack.packb([[dict(span(1, 1), metrics={'a': 1.5})]], use_single_float=True),
                                 'application/msgpack', 400),
    'meta is a list': ('v0.4', msgpack.packb([[dict(span(1, 1), meta=['a'])]]), 'application/msgpack', 400),
    'deep nesting': ('v0.4', msgpack.packb([[dict(span(1, 1), extra=nested(200))]]), 'application/msgpack', 400),
    'deep nesting json': ('v0.4', b'[[{"trace_id": 1, "span_id": 1, "x": ' + b'[' * 100000 + b']' * 100000 + b'}]]',
                          'application/json', 400),
    'huge claimed array': ('v0.4', b'\x91\xdd\xff\xff\xff\xff\x80', 'application/msgpack', 400),
    'huge claimed string': ('v0.4', b'\x91\x91\x81\xa4name\xdb\x7f\xff\xff\xff', 'application/msgpack', 400),
    'reserved byte 0xc1': ('v0.4', b'\x91\x91\xc1', 'application/msgpack', 400),
    'trailing bytes': ('v0.4', GOOD + b'\x00', 'application/msgpack', 400),
    'wrong content type': ('v0.4', GOOD, 'text/plain', 415),
    'v0.5 as json': ('v0.5', v05([[span(1, 1)]]), 'application/json', 415),
    'bad json': ('v0.4', b'[[{"trace_id": 1,', 'application/json', 400),
    'json with msgpack body': ('v0.4', GOOD, 'application/json', 400),
    'v0.5 span with 11 elements': ('v0.5', msgpack.packb([['', 'a'], [[[1, 1, 1, 5, 6, 0, 1, 2, 0, {}, {}]]]]),
                                   'application/msgpack', 400),
    'v0.5 span with 13 elements': ('v0.5', msgpack.packb([['', 'a'], [[[1, 1, 1, 5, 6, 0, 1, 2, 0, {}, {}, 0, 0]]]]),
                                   'application/msgpack', 400),
    'v0.5 bad string index': ('v0.5', msgpack.packb([['', 'a'], [[[1, 9, 1, 5, 6, 0, 1, 2, 0, {}, {}, 0]]]]),
                              'application/msgpack', 400),
    'v0.5 bad meta index': ('v0.5', msgpack.packb([['', 'a'], [[[1, 1, 1, 5, 6, 0, 1, 2, 0, {1: 7}, {}, 0]]]]),
                            'application/msgpack', 400),
    'v0.5 nil element': ('v0.5', msgpack.packb([['', 'a'], [[[1, 1, 1, 5, 6, 0, 1, 2, None, {}, {}, 0]]]]),
                         'application/msgpack', 400),
    'v0.5 three parts': ('v0.5', msgpack.packb([[''], [], []]), 'application/msgpack', 400),
    'v0.5 string table of ints': ('v0.5', msgpack.packb([[1, 2], []]), 'application/msgpack', 400),
}


def db_rows(agent):
    db = sqlite3.connect('file:%s?mode=ro' % agent.db_path, uri=True)
    try:
        return db.execute('SELECT count(*) FROM traces').fetchone()[0]
    finally:
        db.close()


@pytest.mark.parametrize('name', sorted(CASES))
def test_malformed_payload_is_rejected_and_nothing_stored(agent, name):
    version, body, ctype, expected = CASES[name]
    # a good trace first, in the same payload list where the format allows:
    # a valid prefix must not be stored either
    status, reply = agent.send(version, body, content_type=ctype)
    assert status == expected, (name, reply)
    assert reply.endswith(b'\n') and reply.count(b'\n') == 1 and len(reply) < 300
    assert trace_count(agent) == 0 and db_rows(agent) == 0
    assert agent.send('v0.4', GOOD)[0] == 200          # still serving
    assert trace_count(agent) == 1


def test_valid_traces_before_a_bad_one_are_not_stored(agent):
    bad = msgpack.packb([[span(5, 1)], [span(6, 1)], [dict(span(7, 1), duration='x')]])
    status, reply = agent.send('v0.4', bad)
    assert status == 400 and b'span.duration' in reply
    assert trace_count(agent) == 0


def test_huge_strings_are_truncated_not_rejected(agent):
    s = span(8, 1, resource='r' * 100_000, meta={'k': 'v' * 1_000_000})
    assert agent.send('v0.4', [[s]])[0] == 200
    got = agent.api('/api/v1/traces/8')['spans'][0]
    assert len(got['resource']) == 5000 and got['meta']['k'] == 'v' * 25000 + '...'


def test_over_max_request_bytes_is_413(agent_factory):
    a = agent_factory('--max-request-bytes', '64KiB')
    big = msgpack.packb([[span(9, 1, meta={'k': 'v' * 70000})]])
    status, reply = a.send('v0.4', big)
    assert status == 413
    # chunked upload without Content-Length is cut off too
    import http.client
    conn = http.client.HTTPConnection('127.0.0.1', a.port, timeout=10)
    conn.putrequest('PUT', '/v0.4/traces')
    conn.putheader('Content-Type', 'application/msgpack')
    conn.putheader('Transfer-Encoding', 'chunked')
    conn.endheaders()
    for i in range(0, len(big), 8192):
        part = big[i:i + 8192]
        try:
            conn.send(b'%x\r\n%s\r\n' % (len(part), part))
        except OSError:
            break
    try:
        conn.send(b'0\r\n\r\n')
    except OSError:
        pass
    assert conn.getresponse().status == 413
    conn.close()
    assert trace_count(a) == 0
    assert a.send('v0.4', GOOD)[0] == 200


def test_random_bytes_never_crash_the_agent(agent):
    rnd = __import__('random').Random(1)
    for i in range(300):
        body = bytes(rnd.getrandbits(8) for _ in range(rnd.randrange(0, 200)))
        version = ('v0.3', 'v0.4', 'v0.5')[i % 3]
        status, _ = agent.send(version, body)
        assert status in (200, 400)
    # mutations of a valid payload
    for i in range(300):
        b = bytearray(GOOD)
        for _ in range(3):
            b[rnd.randrange(len(b))] = rnd.getrandbits(8)
        assert agent.send('v0.4', bytes(b))[0] in (200, 400)
    assert agent.request('GET', '/info')[0] == 200
    assert agent.proc.poll() is None
