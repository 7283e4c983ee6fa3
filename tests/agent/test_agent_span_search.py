"""Search matches any span of a trace (not only chunk roots), with every
condition on the same span, and /operations lists every span's name and
resource; a database of user_version 4 is brought to 5 at start."""
import sqlite3
import time

from agent_harness import NOW_NS, span, v05

HOSTILE = '<img src=x onerror=alert(1)>"\'&\u00e9\u2603'


def checkout_trace(tid, pay_ms=30, pay_error=0, tag='card'):
    """A web trace whose chunk holds a payments span and a hostile-named
    service below it: several services in one process, one chunk."""
    base = NOW_NS - 30 * 10**9
    return [span(tid, 1, start=base, duration=100_000_000, resource='POST /checkout'),
            span(tid, 2, 1, service='payments', name='payments.charge', resource='charge card',
                 start=base + 1000, duration=pay_ms * 1_000_000, error=pay_error,
                 meta={'pay.method': tag}),
            span(tid, 3, 2, service=HOSTILE, name='db.' + HOSTILE, resource=HOSTILE,
                 start=base + 2000, duration=1_000_000, meta={HOSTILE: HOSTILE})]


def ids(answer):
    return sorted(int(t['trace_id'], 16) for t in answer['traces'])


def search(agent, **q):
    now = time.time()
    return agent.api('/api/v1/traces', start=now - 600, end=now, **q)


def test_each_filter_matches_a_non_root_span(agent):
    traces = [checkout_trace(101, pay_ms=30), checkout_trace(102, pay_ms=80, pay_error=1, tag='iban'),
              [span(103, 1, service='payments', resource='refund', start=NOW_NS - 20 * 10**9)],
              [span(104, 1, service='web', resource='GET /home', start=NOW_NS - 10 * 10**9)]]
    assert agent.send('v0.5', v05(traces))[0] == 200
    got = search(agent, service='payments')
    assert ids(got) == [101, 102, 103]
    by_id = {int(t['trace_id'], 16): t for t in got['traces']}
    # the row is the trace (its root), the match is the payments span
    assert by_id[101]['service'] == 'web' and by_id[101]['resource'] == 'POST /checkout'
    assert by_id[101]['match'] == {'span_id': '%016x' % 2, 'service': 'payments',
                                   'name': 'payments.charge', 'resource': 'charge card',
                                   'start_us': (NOW_NS - 30 * 10**9 + 1000) // 1000,
                                   'duration_ns': 30_000_000, 'error': 0}
    assert ids(search(agent, resource='charge card')) == [101, 102]
    assert ids(search(agent, name='payments.charge')) == [101, 102]
    assert ids(search(agent, tag='pay.method:iban')) == [102]
    assert ids(search(agent, service='payments', tag='pay.method:card')) == [101]
    # duration and error apply to the matching span, not to the trace
    assert ids(search(agent, service='payments', min_duration_ns=50_000_000)) == [102]
    assert ids(search(agent, service='payments', max_duration_ns=50_000_000)) == [101, 103]
    assert ids(search(agent, service='payments', error='1')) == [102]
    assert ids(search(agent, service='web', error='1')) == []
    assert ids(search(agent, min_duration_ns=50_000_000, error='true')) == [102]
    # every condition on one span: no payments span has resource POST /checkout
    assert ids(search(agent, service='payments', resource='POST /checkout')) == []
    # ...nor env:test (only the roots carry it), but refund's root span does
    assert ids(search(agent, service='payments', tag='env:test')) == [103]
    assert ids(search(agent, service='nosuch')) == []


def test_hostile_names_are_matched_exactly_and_escaped(agent):
    assert agent.send('v0.4', [checkout_trace(201)])[0] == 200
    now = time.time()
    # service and operation names are normalized at intake; search takes
    # them as /services and /operations report them
    [odd] = [s['service'] for s in agent.api('/api/v1/services', start=now - 600, end=now)['services']
             if s['service'] not in ('web', 'payments')]
    got = search(agent, service=odd)
    assert ids(got) == [201] and got['traces'][0]['match']['resource'] == HOSTILE
    assert ids(search(agent, resource=HOSTILE)) == [201]
    assert ids(search(agent, tag=HOSTILE + ':' + HOSTILE)) == [201]
    assert ids(search(agent, resource=HOSTILE[:-1])) == []
    assert ids(search(agent, service=odd + 'x')) == []
    ops = agent.api('/api/v1/operations', service=odd)
    assert ops['service'] == odd and ops['resources'] == [HOSTILE] and len(ops['names']) == 1


def test_services_of_several_processes_and_chunks(agent):
    # one trace in two chunks (two processes): web's root chunk, and a
    # worker chunk holding payments; the trace is listed once
    base = NOW_NS - 40 * 10**9
    root = [span(301, 1, start=base, duration=10**8)]
    worker = [span(301, 7, 1, service='worker', start=base + 10, duration=10**6),
              span(301, 8, 7, service='payments', name='payments.capture', resource='capture',
                   start=base + 20, duration=5 * 10**5)]
    assert agent.send('v0.4', [root])[0] == 200
    assert agent.send('v0.4', [worker])[0] == 200
    assert ids(search(agent, service='payments')) == [301]
    assert ids(search(agent, service='worker')) == [301]
    assert ids(search(agent, service='web')) == [301]
    assert ids(search(agent, name='payments.capture')) == [301]


def test_search_by_service_pages_with_a_cursor(agent):
    traces = [checkout_trace(400 + i) for i in range(7)]
    for i, t in enumerate(traces):
        for s in t:
            s['start'] += i * 1000
    assert agent.send('v0.4', traces)[0] == 200
    seen, cursor = [], None
    for _ in range(10):
        q = {'service': 'payments', 'limit': 3}
        if cursor:
            q['cursor'] = cursor
        page = search(agent, **q)
        seen += ids(page)
        cursor = page['next_cursor']
        if not cursor:
            break
    assert sorted(seen) == list(range(400, 407))


def test_operations_list_every_span_not_only_top_level(agent):
    assert agent.send('v0.4', [checkout_trace(501)])[0] == 200
    # a child of the same service is not top-level, its names are listed
    assert agent.send('v0.4', [[span(502, 1), span(502, 2, 1, name='render', resource='users.html')]])[0] == 200
    web = agent.api('/api/v1/operations', service='web')
    assert web['names'] == ['flask.request', 'render']
    assert web['resources'] == ['GET /users', 'POST /checkout', 'users.html']
    pay = agent.api('/api/v1/operations', service='payments')
    assert pay == {'service': 'payments', 'names': ['payments.charge'], 'resources': ['charge card']}


def test_a_database_of_user_version_4_is_upgraded(agent):
    assert agent.send('v0.4', [checkout_trace(601)])[0] == 200
    agent.stop()
    db = sqlite3.connect(agent.db_path)
    # as version 4 wrote it: no block_services table
    db.executescript('DROP TABLE block_services; PRAGMA user_version = 4;')
    db.close()
    agent.start()
    # the chunk's root service is found, as before
    assert ids(search(agent, service='web')) == [601]
    assert agent.send('v0.4', [checkout_trace(602)])[0] == 200
    assert ids(search(agent, service='payments')) == [602]
    assert ids(search(agent, service='web')) == [601, 602]
    assert ids(search(agent, resource='charge card')) == [601, 602]
    db = sqlite3.connect('file:%s?mode=ro' % agent.db_path, uri=True)
    assert db.execute('PRAGMA user_version').fetchone()[0] == 5
    db.close()
