"""The service map (GET /api/v1/servicemap): edges from a parent span's
service to its child's, counted at ingest inside a chunk and, across
processes, resolved in the background against the stored chunks of the
trace, whichever chunk arrives first. A child whose parent never arrives is
counted as unresolved, never an edge. Real agent over a real socket."""
import math
import sqlite3
import time

import pytest

from agent_harness import NOW_NS, span

FAST = ('--retention-interval', '200ms')


def servicemap(agent, **params):
    now = time.time()
    params.setdefault('start', now - 3600)
    params.setdefault('end', now)
    return agent.api('/api/v1/servicemap', **params)


def edges(body):
    return {(e['from'], e['to']): e for e in body['edges']}


def wait_for(fn, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.1)
    return fn()


def test_in_process_edges_with_calls_errors_rate_and_p95_within_1_percent(agent):
    durations = [(i + 1) * 1_000_000 for i in range(100)]   # 1..100 ms
    traces = []
    for i, d in enumerate(durations):
        t = i + 1
        traces.append([span(t, 1, service='web', duration=200_000_000),
                       span(t, 2, 1, service='payments', duration=d, error=1 if i % 4 == 0 else 0),
                       span(t, 3, 2, service='payments', duration=d // 2),   # same service: no edge
                       span(t, 4, 2, service='db', duration=10_000)])
    assert agent.send('v0.4', traces)[0] == 200
    start = time.time() - 3600
    body = servicemap(agent, start=start, end=start + 3600)
    got = edges(body)
    assert set(got) == {('web', 'payments'), ('payments', 'db')}
    e = got[('web', 'payments')]
    assert e['calls'] == 100 and e['errors'] == 25
    assert e['error_rate'] == pytest.approx(0.25)
    assert e['rps'] == pytest.approx(100 / 3600, abs=1e-4)
    exact_p95 = sorted(durations)[math.ceil(0.95 * 100) - 1]
    assert abs(e['p95_ns'] - exact_p95) <= exact_p95 * 0.01 + 1
    assert got[('payments', 'db')]['calls'] == 100
    nodes = {n['service']: n for n in body['nodes']}
    assert set(nodes) == {'web', 'payments', 'db'}
    assert nodes['web']['hits'] == 100 and nodes['payments']['errors'] == 25
    assert body['unresolved'] == 0


def test_env_filters_edges(agent):
    assert agent.send('v0.4', [
        [span(1, 1, service='a', meta={'env': 'prod'}), span(1, 2, 1, service='b', meta={'env': 'prod'})],
        [span(2, 1, service='a', meta={'env': 'dev'}), span(2, 2, 1, service='c', meta={'env': 'dev'})],
    ])[0] == 200
    assert set(edges(servicemap(agent, env='prod'))) == {('a', 'b')}
    assert set(edges(servicemap(agent, env='dev'))) == {('a', 'c')}
    assert set(edges(servicemap(agent))) == {('a', 'b'), ('a', 'c')}
    assert {n['service'] for n in servicemap(agent, env='prod')['nodes']} == {'a', 'b'}


@pytest.mark.parametrize('parent_first', [True, False])
def test_cross_process_edge_whichever_chunk_arrives_first(agent_factory, parent_first):
    a = agent_factory(*FAST)
    parent = [span(7, 10, service='frontend', duration=50_000_000),
              span(7, 11, 10, service='frontend', name='http.client', duration=30_000_000)]
    child = [span(7, 20, 11, service='checkout', duration=25_000_000, error=1)]
    first, second = (parent, child) if parent_first else (child, parent)
    assert a.send('v0.4', [first])[0] == 200
    if not parent_first:
        time.sleep(0.6)   # the resolver passes over the child while its parent is missing
        assert edges(servicemap(a)) == {}
    assert a.send('v0.4', [second])[0] == 200
    got = wait_for(lambda: edges(servicemap(a)))
    assert set(got) == {('frontend', 'checkout')}
    e = got[('frontend', 'checkout')]
    assert e['calls'] == 1 and e['errors'] == 1
    assert abs(e['p95_ns'] - 25_000_000) <= 250_000
    assert servicemap(a)['unresolved'] == 0


def test_missing_parent_is_counted_not_an_edge(agent_factory):
    a = agent_factory('--servicemap-wait', '1s', *FAST)
    assert a.send('v0.4', [[span(9, 20, 12345, service='orphan')]])[0] == 200
    assert wait_for(lambda: servicemap(a)['unresolved'] == 1)
    body = servicemap(a)
    assert body['edges'] == []
    # the parent arriving after the wait no longer makes an edge
    assert a.send('v0.4', [[span(9, 12345, service='late')]])[0] == 200
    time.sleep(0.6)
    assert servicemap(a)['edges'] == []


@pytest.mark.parametrize('retention, expected', [
    ('0', {('x', 'y'), ('x', 'z')}),   # kept: the old edge is stored
    ('1h', {('x', 'z')}),              # the old minute's edge goes with its chunks
])
def test_retention_removes_the_service_map_rows(agent_factory, retention, expected):
    a = agent_factory('--retention', retention, *FAST)
    old = NOW_NS - 2 * 3600 * 10**9
    assert a.send('v0.4', [[span(1, 1, service='x', start=old), span(1, 2, 1, service='y', start=old)],
                           [span(2, 1, service='x'), span(2, 2, 1, service='z')],
                           [span(3, 5, 99, service='w', start=old)]])[0] == 200
    now = time.time()
    wide = dict(start=now - 3 * 3600, end=now)
    assert wait_for(lambda: set(edges(servicemap(a, **wide))) == expected)
    time.sleep(0.5)
    assert set(edges(servicemap(a, **wide))) == expected
    # the old child still waiting for its parent goes too (or stays pending)
    db = sqlite3.connect('file:%s?mode=ro' % a.db_path, uri=True)
    try:
        pending = db.execute('SELECT count(*) FROM svcmap_pending').fetchone()[0]
    finally:
        db.close()
    assert pending == (1 if retention == '0' else 0)


@pytest.mark.parametrize('params', [
    {'start': '0', 'end': '1e23'},
    {'start': 'nan', 'end': '1'},
    {'start': '10', 'end': '5'},
    {'env': 'e' * 201},
])
def test_bad_parameters_are_a_400(agent, params):
    agent.api('/api/v1/servicemap', expect=400, **params)
    assert agent.request('GET', '/info')[0] == 200


def test_a_chunk_flushed_apart_from_its_own_service_is_no_edge(agent_factory):
    """A tracer's partial flush sends one process's trace as several chunks:
    the parent is found, in the same service, and no self-edge appears."""
    a = agent_factory('--servicemap-wait', '1s', *FAST)
    assert a.send('v0.4', [[span(5, 1, service='api')]])[0] == 200
    assert a.send('v0.4', [[span(5, 2, 1, service='api'), span(5, 3, 2, service='cache')]])[0] == 200
    # after the wait the pending child is gone without counting as unresolved
    time.sleep(1.5)
    body = servicemap(a)
    assert set(edges(body)) == {('api', 'cache')}
    assert body['unresolved'] == 0
