"""The Datadog endpoints around intake, headers, the UI, security checks
and behaviour under slow or many clients."""
import http.client
import json
import os
import socket
import threading
import time

import msgpack
import pytest

from agent_harness import agent_binary, assert_refused, read_until_closed, span, trace_count

GOOD = msgpack.packb([[span(1, 1)]], use_bin_type=True)


def test_info_describes_the_agent(agent):
    status, headers, body = agent.request('GET', '/info')
    info = json.loads(body)
    assert status == 200
    for key in ('version', 'git_commit', 'endpoints', 'feature_flags', 'client_drop_p0s',
                'span_meta_structs', 'long_running_spans', 'span_events', 'peer_tags', 'config'):
        assert key in info
    assert info['client_drop_p0s'] is False and info['span_events'] is True
    assert {'/v0.4/traces', '/v0.5/traces', '/v0.6/stats', '/info'} <= set(info['endpoints'])
    cfg = info['config']
    assert cfg['receiver_port'] == agent.port and cfg['max_request_bytes'] == 50 * 2**20
    assert cfg['default_env'] == 'none' and cfg['receiver_socket'] == ''
    assert headers['datadog-agent-version'] == info['version']
    assert len(headers['datadog-agent-state']) == 16


@pytest.mark.parametrize('method,path,status,body', [
    ('PUT', '/v0.3/services', 200, b'OK'),
    ('POST', '/v0.4/services', 200, b'OK'),
    ('PUT', '/v0.6/stats', 200, b''),
    ('POST', '/telemetry/proxy/api/v2/apmtelemetry', 200, b'{}'),
    ('GET', '/v0.7/config', 404, None),
    ('POST', '/evp_proxy/v2/api/v2/exposures', 404, None),
    ('POST', '/profiling/v1/input', 404, None),
    ('POST', '/debugger/v1/input', 404, None),
    ('GET', '/nope', 404, None),
    ('POST', '/v0.4/traces', 200, None),
    ('PUT', '/v0.5/traces', 200, None),
])
def test_endpoints_answer_like_the_datadog_agent(agent, method, path, status, body):
    payload = GOOD
    if path == '/v0.5/traces':
        payload = msgpack.packb([[''], []])
    got, headers, reply = agent.request(method, path, payload, {'Content-Type': 'application/msgpack'})
    assert got == status
    if body is not None:
        assert reply == body
    assert 'datadog-agent-version' in headers and 'datadog-agent-state' in headers
    assert headers['x-content-type-options'] == 'nosniff'


def test_cross_site_requests_are_refused(agent):
    for path in ('/v0.4/traces', '/api/v1/services', '/', '/info'):
        status, _, _ = agent.request('PUT' if 'traces' in path else 'GET', path, GOOD,
                                     {'Sec-Fetch-Site': 'cross-site', 'Content-Type': 'application/msgpack'})
        assert status == 403, path
    assert trace_count(agent) == 0
    assert agent.request('GET', '/api/v1/services', headers={'Sec-Fetch-Site': 'same-origin'})[0] == 200


def test_ui_is_served_with_a_strict_csp(agent):
    status, headers, body = agent.request('GET', '/')
    assert status == 200 and headers['content-type'].startswith('text/html')
    csp = headers['content-security-policy']
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "connect-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp and '*' not in csp and 'http' not in csp
    assert headers['x-frame-options'] == 'DENY'
    assert agent.request('GET', '/index.html')[2] == body
    # DNS rebinding: a foreign Host name is refused for the UI and the API
    assert agent.request('GET', '/', headers={'Host': 'evil.example:%d' % agent.port})[0] == 403
    assert agent.request('GET', '/api/v1/services', headers={'Host': 'evil.example'})[0] == 403
    assert agent.request('GET', '/', headers={'Host': 'localhost:%d' % agent.port})[0] == 200
    assert agent.request('POST', '/api/v1/services')[0] == 405


def test_token_guards_the_api_and_ui_but_not_intake(agent_factory):
    a = agent_factory('--token', 's3cret')
    assert 's3cret' not in a.output[0] and '(token required)' in a.output[0]
    assert a.request('GET', '/api/v1/services')[0] == 401
    assert a.request('GET', '/')[0] == 401
    assert a.request('GET', '/api/v1/services', headers={'Authorization': 'Bearer wrong'})[0] == 401
    assert a.request('GET', '/api/v1/services', headers={'Authorization': 'Bearer s3cret'})[0] == 200
    assert a.request('GET', '/api/v1/services?token=s3cret')[0] == 200
    status, headers, _ = a.request('GET', '/?token=s3cret')
    assert status == 200
    cookie = headers['set-cookie']
    assert cookie.startswith('ctrace_token=s3cret') and 'HttpOnly' in cookie and 'SameSite=Strict' in cookie
    assert a.request('GET', '/api/v1/tail', headers={'Cookie': 'ctrace_token=s3cret'})[0] == 200
    assert a.send('v0.4', GOOD)[0] == 200      # tracers cannot send tokens
    assert a.request('GET', '/info')[0] == 200


def test_listens_on_loopback_by_default(tmp_path):
    import subprocess
    out = subprocess.run([agent_binary(), '--help'], capture_output=True, text=True).stdout
    assert 'default 127.0.0.1:8126' in out


def test_unix_socket(agent_factory, tmp_path):
    sock_path = str(tmp_path / 'apm.sock')
    a = agent_factory('--socket', sock_path)
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock_path)
    s.sendall(b'PUT /v0.4/traces HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/msgpack\r\n'
              b'Content-Length: %d\r\nConnection: close\r\n\r\n' % len(GOOD) + GOOD)
    reply = read_until_closed(s)
    assert reply.startswith(b'HTTP/1.1 200') and b'rate_by_service' in reply
    assert json.loads(a.request('GET', '/info')[2])['config']['receiver_socket'] == sock_path
    assert trace_count(a) == 1
    a.stop()
    assert not os.path.exists(sock_path)


def test_stalled_clients_do_not_block_others(agent_factory):
    a = agent_factory('--connection-timeout', '2')
    stalled = []
    for _ in range(20):   # headers announce a body that never comes
        s = socket.create_connection(('127.0.0.1', a.port))
        s.sendall(b'PUT /v0.4/traces HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/msgpack\r\n'
                  b'Content-Length: 100000\r\n\r\n' + GOOD[:5])
        stalled.append(s)
    garbage = socket.create_connection(('127.0.0.1', a.port))
    garbage.sendall(os.urandom(5000))
    t0 = time.time()
    results = []

    def client(i):
        results.append(a.send('v0.4', msgpack.packb([[span(100 + i, 1)]]))[0])

    threads = [threading.Thread(target=client, args=(i,)) for i in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [200] * 30 and time.time() - t0 < 5
    assert trace_count(a) == 30
    # the connection timeout closes stalled connections
    time.sleep(3)
    stalled[0].settimeout(2)
    assert stalled[0].recv(100) == b''
    for s in stalled:
        s.close()
    garbage.close()


def held_connection(port, attempts=100):
    """A keep-alive connection the agent has accepted and answered once."""
    for _ in range(attempts):
        conn = http.client.HTTPConnection('127.0.0.1', port, timeout=10)
        try:
            conn.request('GET', '/info')
            resp = conn.getresponse()
            resp.read()
            if resp.status == 200 and conn.sock is not None:
                return conn
        except (OSError, http.client.HTTPException):
            pass
        conn.close()
        time.sleep(0.05)
    raise AssertionError('no connection accepted')


def test_connection_limit_bounds_concurrent_connections(agent_factory):
    # a long idle timeout: on a loaded machine the held connections must not
    # time out (and free their slots) before the extra one is tried
    a = agent_factory('--max-connections', '8', '--connection-timeout', '20')
    # Each held connection is proved accepted by a keep-alive request: the
    # agent may still count the connection of its readiness probe for a
    # moment, and a held one refused then would leave a slot for the extra.
    held = [held_connection(a.port) for _ in range(8)]
    assert_refused(a.port, 2)
    for s in held:
        s.close()
    time.sleep(0.3)
    assert a.request('GET', '/info')[0] == 200


# ---- the bind policy: Host checks, web pages, the warning beyond loopback ----

def test_intake_and_info_check_host_on_a_loopback_bind(agent):
    evil = {'Host': 'evil.example:%d' % agent.port, 'Content-Type': 'application/msgpack'}
    assert agent.request('PUT', '/v0.4/traces', GOOD, evil)[0] == 403
    assert agent.request('GET', '/info', headers=evil)[0] == 403
    assert trace_count(agent) == 0
    for host in ('localhost:%d' % agent.port, '127.0.0.1:%d' % agent.port, socket.gethostname()):
        headers = {'Host': host, 'Content-Type': 'application/msgpack'}
        assert agent.request('PUT', '/v0.4/traces', GOOD, headers)[0] == 200, host
    assert trace_count(agent) == 3


def test_web_pages_cannot_post_traces(agent):
    """A fetch() from a page on another port of localhost is same-site, and a
    body without Content-Type was read as JSON: refused by Origin."""
    body = json.dumps([[span(7, 1)]]).encode()
    for marks in ({'Origin': 'http://localhost:3000'}, {'Sec-Fetch-Site': 'same-site'},
                  {'Origin': 'null', 'Content-Type': 'text/plain'}):
        for path in ('/v0.4/traces', '/v0.3/traces', '/v0.6/stats'):
            assert agent.request('POST', path, body, marks)[0] == 403, (marks, path)
    assert trace_count(agent) == 0
    assert agent.request('POST', '/v0.4/traces', body)[0] == 200   # a tracer's JSON still works
    assert trace_count(agent) == 1


def test_wildcard_bind_warns_without_token_and_keeps_the_host_check(agent_factory):
    a = agent_factory('--listen', '0.0.0.0:0')
    time.sleep(0.2)
    out = ''.join(a.output)
    assert 'WARNING: listening on 0.0.0.0, beyond loopback, without a token' in out
    assert 'UI http://127.0.0.1:%d/' % a.port in a.output[0]
    assert a.request('GET', '/api/v1/services', headers={'Host': 'evil.example'})[0] == 403
    assert a.request('GET', '/', headers={'Host': 'evil.example:%d' % a.port})[0] == 403
    assert a.request('GET', '/api/v1/services', headers={'Host': '192.0.2.7:%d' % a.port})[0] == 200
    # beyond loopback tracers name the agent by any DNS name: intake takes it
    headers = {'Host': 'datadog-agent:8126', 'Content-Type': 'application/msgpack'}
    assert a.request('PUT', '/v0.4/traces', GOOD, headers)[0] == 200


def test_wildcard_bind_with_a_token_does_not_warn(agent_factory):
    a = agent_factory('--listen', '0.0.0.0:0', '--token', 'hunter2')
    time.sleep(0.2)
    assert 'WARNING' not in ''.join(a.output)


def test_ipv6_wildcard_bind_prints_a_ui_url_a_browser_opens(tmp_path):
    import re
    import subprocess
    proc = subprocess.Popen([agent_binary(), '--listen', '[::]:0', '--data', str(tmp_path),
                             '--token', 'x'], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    try:
        first = proc.stdout.readline()
        m = re.search(r'listening on http://\[::\]:(\d+), .*UI (http://\S+)', first)
        assert m, first
        port = int(m.group(1))
        assert m.group(2) == 'http://[::1]:%d/' % port
        conn = http.client.HTTPConnection('::1', port, timeout=10)
        conn.request('GET', '/', headers={'Authorization': 'Bearer x'})
        assert conn.getresponse().status == 200
        conn.close()
    finally:
        proc.terminate()
        proc.wait(20)
