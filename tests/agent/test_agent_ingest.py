"""Payloads in every intake format are stored and come back, normalized,
through every query API endpoint."""
import json
import random
import sqlite3
import struct
import time

import msgpack
import pytest

from agent_harness import NOW_NS, span, trace_count, v05

RATES = {'rate_by_service': {'service:,env:': 1}}


def three_span_trace(tid, **root_kw):
    return [span(tid, 1, **root_kw),
            span(tid, 2, 1, service='web-db', name='postgres.query', resource='SELECT 1', type='sql',
                 start=NOW_NS - 60 * 10**9 + 1000, duration=500_000),
            span(tid, 3, 2, name='template.render', resource='users.html', type='template',
                 start=NOW_NS - 60 * 10**9 + 2000, duration=100_000)]


@pytest.mark.parametrize('version', ['v0.4', 'v0.5', 'json', 'v0.3'])
def test_trace_round_trip_in_every_format(agent, version):
    tid = 0xDEADBEEF12345678
    trace = three_span_trace(tid)
    if version == 'v0.5':
        status, body = agent.send('v0.5', v05([trace]))
    elif version == 'json':
        status, body = agent.send('v0.4', [trace], content_type='application/json')
    else:
        status, body = agent.send(version, [trace])
    assert status == 200, body
    assert (body == b'OK') if version == 'v0.3' else json.loads(body) == RATES

    t = agent.api('/api/v1/traces/%016x' % tid)
    assert t['trace_id'] == '%032x' % tid
    assert t['span_count'] == 3
    spans = {s['span_id']: s for s in t['spans']}
    root = spans['%016x' % 1]
    assert root['parent_id'] is None
    assert root['service'] == 'web' and root['name'] == 'flask.request'
    assert root['resource'] == 'GET /users' and root['type'] == 'web'
    assert root['duration_ns'] == 1_500_000 and root['offset_ns'] == 0
    assert root['start_us'] == (NOW_NS - 60 * 10**9) // 1000
    assert root['meta']['env'] == 'test'
    assert root['metrics']['_sampling_priority_v1'] == 1.0
    child = spans['%016x' % 2]
    assert child['parent_id'] == '%016x' % 1 and child['offset_ns'] == 1000
    assert [s['span_id'] for s in t['spans']] == ['%016x' % i for i in (1, 2, 3)]  # by start


def test_trace_id_forms_and_128_bit_ids(agent):
    low, high = 0x1122334455667788, 0x6556E0A400000000
    trace = three_span_trace(low)
    trace[0]['meta']['_dd.p.tid'] = '%016x' % high
    assert agent.send('v0.4', [trace])[0] == 200
    full = '%016x%016x' % (high, low)
    for key in (full, '%016x' % low, str(low), full.upper()):
        t = agent.api('/api/v1/traces/' + key)
        assert t['trace_id'] == full
        assert all(s['trace_id'] == full for s in t['spans'])
    assert agent.api('/api/v1/traces/%016x%016x' % (high + 1, low), expect=404) == {'error': 'trace not found'}
    agent.api('/api/v1/traces/not-an-id', expect=400)
    agent.api('/api/v1/traces/%016x' % (low + 1), expect=404)


def test_chunks_of_one_trace_from_two_services_are_merged(agent):
    tid = 777
    assert agent.send('v0.4', [[span(tid, 1)]])[0] == 200
    assert agent.send('v0.5', v05([[span(tid, 2, 1, service='billing', start=NOW_NS - 60 * 10**9 + 10)]]))[0] == 200
    t = agent.api('/api/v1/traces/777')
    assert t['span_count'] == 2
    assert {s['service'] for s in t['spans']} == {'web', 'billing'}


def test_chunks_thousands_of_rows_apart_are_found_by_trace_id(agent):
    # trace ids are indexed per block of 4096 rows: the lookup visits every block
    tid = 778
    assert agent.send('v0.4', [[span(tid, 1)]])[0] == 200
    assert agent.send('v0.5', v05([[span(10**6 + k, 1)] for k in range(5000)]))[0] == 200
    assert agent.send('v0.4', [[span(tid, 2, 1, service='billing')]])[0] == 200
    t = agent.api('/api/v1/traces/%d' % tid)
    assert sorted(s['span_id'] for s in t['spans']) == ['%016x' % 1, '%016x' % 2]
    assert agent.api('/api/v1/traces/%d' % (10**6 + 4999))['span_count'] == 1


def test_normalization_as_the_datadog_agent(agent):
    tid = 4242
    long_value = 'x' * 30000
    s = span(tid, 1, service='My Web App!!', name='', resource='', type='t' * 150,
             start=5, duration=-3,
             meta={'http.status_code': '999', 'ok.code': '200', 'k' * 250: 'v', 'big': long_value,
                   'env': 'Prod Env', 'bad': b'caf\xe9 ok'.decode('latin-1')},
             metrics={'m' * 210: 1.0})
    s2 = span(tid, 2, 1, name='ok.name', meta={'bad.utf8': 'x'})
    payload = msgpack.packb([[s, s2]], use_bin_type=True)
    # replace the valid 'x' value by an invalid UTF-8 byte sequence
    payload = payload.replace(b'\xa8bad.utf8\xa1x', b'\xa8bad.utf8\xa2\xff\xfe')
    before = time.time_ns()
    assert agent.send('v0.4', payload)[0] == 200
    t = agent.api('/api/v1/traces/%d' % tid)
    root = [x for x in t['spans'] if x['span_id'] == '%016x' % 1][0]
    assert root['service'] == 'my_web_app'
    assert root['name'] == 'unnamed_operation' and root['resource'] == 'unnamed_operation'
    assert root['type'] == 't' * 100
    assert root['duration_ns'] == 0
    assert root['start_us'] * 1000 >= before - 10**9      # start before 2000 -> now
    assert 'http.status_code' not in root['meta']
    assert root['meta']['ok.code'] == '200'
    assert root['meta']['k' * 200 + '...'] == 'v'
    assert root['meta']['big'] == 'x' * 25000 + '...'
    assert root['meta']['env'] == 'prod_env'
    assert ('m' * 200 + '...') in root['metrics']
    child = [x for x in t['spans'] if x['span_id'] == '%016x' % 2][0]
    assert child['meta']['bad.utf8'] == '\ufffd'


@pytest.mark.parametrize('bad', ['trace_id_zero', 'span_id_zero', 'mismatch', 'empty'])
def test_invalid_chunks_are_dropped_but_the_payload_is_accepted(agent, bad):
    good = [span(50, 1)]
    chunk = {'trace_id_zero': [span(0, 1)], 'span_id_zero': [span(60, 0)],
             'mismatch': [span(70, 1), span(71, 2, 1)], 'empty': []}[bad]
    assert agent.send('v0.4', [chunk, good])[0] == 200
    assert trace_count(agent) == 1
    agent.api('/api/v1/traces/50')


def test_span_links_and_events(agent):
    tid = 9001
    s = span(tid, 1, span_links=[{'trace_id': 5, 'trace_id_high': 6, 'span_id': 7,
                                  'attributes': {'link.kind': 'follows'}, 'tracestate': 'dd=s:1',
                                  'flags': 0x80000001}],
             span_events=[{'name': 'exception', 'time_unix_nano': 1700000000000000001,
                           'attributes': {'message': {'type': 0, 'string_value': 'boom'},
                                          'count': {'type': 2, 'int_value': 3}}}])
    s2 = span(tid, 2, 1, meta={'_dd.span_links': json.dumps([{'trace_id': '%032x' % 8, 'span_id': '%016x' % 9,
                                                               'attributes': {'a': 'b'}}]),
                               'events': json.dumps([{'name': 'retry', 'time_unix_nano': 1700000000000000000,
                                                      'attributes': {'n': 1}}])})
    assert agent.send('v0.4', [[s, s2]])[0] == 200
    spans = {x['span_id']: x for x in agent.api('/api/v1/traces/%d' % tid)['spans']}
    link = spans['%016x' % 1]['span_links'][0]
    assert link == {'trace_id': '%016x%016x' % (6, 5), 'span_id': '%016x' % 7,
                    'attributes': {'link.kind': 'follows'}, 'tracestate': 'dd=s:1', 'flags': 0x80000001}
    ev = spans['%016x' % 1]['span_events'][0]
    assert ev == {'name': 'exception', 'time_unix_nano': '1700000000000000001',
                  'attributes': {'message': 'boom', 'count': 3}}
    assert spans['%016x' % 2]['span_links'][0]['span_id'] == '%016x' % 9
    assert spans['%016x' % 2]['span_events'][0]['name'] == 'retry'


def load_search_fixture(agent):
    base = NOW_NS - 600 * 10**9
    traces = []
    for i in range(30):
        svc = 'web' if i % 2 == 0 else 'api'
        tr = [span(1000 + i, 1, service=svc, resource='GET /r%d' % (i % 3), name='req.%d' % (i % 2),
                   start=base + i * 10**9, duration=(i + 1) * 1_000_000, error=1 if i % 10 == 0 else 0,
                   meta={'env': 'test', 'customer': 'c%d' % (i % 5)}),
              span(1000 + i, 2, 1, service='db', resource='SELECT', name='pg.query', start=base + i * 10**9 + 5,
                   duration=1000)]
        traces.append(tr)
    assert agent.send('v0.4', traces[:15])[0] == 200
    assert agent.send('v0.5', v05(traces[15:]))[0] == 200
    return base


def test_search_filters_and_paging(agent):
    load_search_fixture(agent)
    now = time.time()
    res = agent.api('/api/v1/traces', start=now - 3600, end=now)
    assert len(res['traces']) == 30 and res['next_cursor'] is None
    starts = [t['start_us'] for t in res['traces']]
    assert starts == sorted(starts, reverse=True)
    t0 = res['traces'][0]
    assert set(t0) == {'trace_id', 'service', 'resource', 'name', 'start_us', 'duration_ns', 'error', 'span_count'}
    assert set(agent.api('/api/v1/traces', service='web')['traces'][0]) == set(t0) | {'match'}
    assert t0['span_count'] == 2
    assert {t['service'] for t in agent.api('/api/v1/traces', service='web')['traces']} == {'web'}
    assert len(agent.api('/api/v1/traces', service='web')['traces']) == 15
    assert len(agent.api('/api/v1/traces', resource='GET /r1')['traces']) == 10
    assert len(agent.api('/api/v1/traces', name='req.1')['traces']) == 15
    assert len(agent.api('/api/v1/traces', error=1)['traces']) == 3
    got = agent.api('/api/v1/traces', min_duration_ns=25_000_000)['traces']
    assert sorted(t['duration_ns'] for t in got) == [i * 1_000_000 for i in range(25, 31)]
    # duration filters apply to a matching span: every trace has a 1 us db span
    assert len(agent.api('/api/v1/traces', max_duration_ns=5_000_000)['traces']) == 30
    assert len(agent.api('/api/v1/traces', service='web', max_duration_ns=5_000_000)['traces']) == 3
    assert len(agent.api('/api/v1/traces', tag='customer:c1')['traces']) == 6
    assert len(agent.api('/api/v1/traces', tag=['customer:c1', 'env:test'])['traces']) == 6
    assert agent.api('/api/v1/traces', tag=['customer:c1', 'env:prod'])['traces'] == []
    # paging: 7 per page, every trace exactly once, newest first
    seen, cursor = [], None
    while True:
        params = {'limit': 7}
        if cursor:
            params['cursor'] = cursor
        page = agent.api('/api/v1/traces', **params)
        seen += [t['trace_id'] for t in page['traces']]
        cursor = page['next_cursor']
        if not cursor:
            break
    assert len(seen) == 30 and len(set(seen)) == 30
    agent.api('/api/v1/traces', expect=400, limit=0)
    agent.api('/api/v1/traces', expect=400, limit=1001)
    agent.api('/api/v1/traces', expect=400, tag='novalue')
    agent.api('/api/v1/traces', expect=400, start=10, end=5)


def test_search_across_services_is_newest_first_and_pages_exactly(agent):
    # all services in start order are merged from one walk per service
    rng = random.Random(11)
    sent = []   # (start, send order) of each trace, in send order
    for batch in range(3):
        traces = []
        for i in range(40):
            tid = 1000 + batch * 100 + i
            start = NOW_NS - 60 * 10**9 + rng.randrange(8) * 10**6   # many ties
            traces.append([span(tid, 1, service='svc%d' % rng.randrange(5), start=start)])
            sent.append((start, len(sent), tid, traces[-1][0]['service']))
        assert agent.send('v0.4', traces)[0] == 200
    expected = ['%032x' % tid for _, _, tid, _ in sorted(sent, reverse=True)]
    assert [t['trace_id'] for t in agent.api('/api/v1/traces', limit=1000)['traces']] == expected
    paged, cursor = [], None
    while True:
        page = agent.api('/api/v1/traces', limit=7, **({'cursor': cursor} if cursor else {}))
        paged += [t['trace_id'] for t in page['traces']]
        cursor = page['next_cursor']
        if not cursor:
            break
    assert paged == expected
    # a search by service lists the newest stored first (docs/query-api.md)
    one = [t['trace_id'] for t in agent.api('/api/v1/traces', service='svc3', limit=1000)['traces']]
    assert one == ['%032x' % tid for _, _, tid, svc in reversed(sent) if svc == 'svc3'] and len(one) > 10


def test_services_resources_latency_operations(agent):
    load_search_fixture(agent)
    now = time.time()
    svc = agent.api('/api/v1/services', start=now - 3600, end=now)
    assert svc['step'] == 60 and 59 <= len(svc['services'][0]['series']) <= 62
    by = {s['service']: s for s in svc['services']}
    assert set(by) == {'web', 'api', 'db'}
    web = by['web']
    assert web['hits'] == 15 and web['errors'] == 3 and web['error_rate'] == pytest.approx(0.2)
    assert web['rps'] == pytest.approx(15 / 3600, abs=1e-4)
    assert web['p50_ns'] <= web['p95_ns'] <= web['p99_ns']
    # DDSketch-style buckets: within 1% of the exact 8th of [1, 3, ..., 29] ms
    assert web['p50_ns'] == pytest.approx(15_000_000, rel=0.01)
    assert sum(b['hits'] for b in web['series']) == 15
    assert by['db']['hits'] == 30   # parent is another service: top-level
    res = agent.api('/api/v1/services/web/resources', start=now - 3600, end=now)
    assert res['service'] == 'web'
    rs = {r['resource']: r for r in res['resources']}
    assert set(rs) == {'GET /r0', 'GET /r1', 'GET /r2'}
    assert sum(r['hits'] for r in rs.values()) == 15 and rs['GET /r0']['name'] == 'req.0'
    lat = agent.api('/api/v1/latency', service='web', start=now - 3600, end=now)
    assert lat['count'] == 15 and sum(b['count'] for b in lat['buckets']) == 15
    assert all(b['lower_ns'] < b['upper_ns'] for b in lat['buckets'])
    lat_r = agent.api('/api/v1/latency', service='web', resource='GET /r0', start=now - 3600, end=now)
    assert lat_r['count'] == 5
    ops = agent.api('/api/v1/operations', service='web')
    assert ops == {'service': 'web', 'names': ['req.0'], 'resources': ['GET /r0', 'GET /r1', 'GET /r2']}
    agent.api('/api/v1/latency', expect=400)
    day = agent.api('/api/v1/services', start=now - 86400, end=now)
    assert day['step'] == 1440 and day['services']


def test_tail_returns_only_new_traces(agent):
    first = agent.api('/api/v1/tail')
    assert first['traces'] == []
    agent.send('v0.4', [[span(1, 1)], [span(2, 1)]])
    t = agent.api('/api/v1/tail', after=first['cursor'])
    assert len(t['traces']) == 2
    assert agent.api('/api/v1/tail', after=t['cursor'])['traces'] == []
    agent.send('v0.4', [[span(3, 1)]])
    new = agent.api('/api/v1/tail', after=t['cursor'])
    assert [x['trace_id'] for x in new['traces']] == ['%032x' % 3]


def test_data_survives_a_clean_restart(agent):
    agent.send('v0.5', v05([three_span_trace(31337)]))
    agent.restart()
    assert agent.api('/api/v1/traces/31337')['span_count'] == 3


def test_a_nine_millisecond_request_is_reported_within_one_percent(agent):
    # the log-linear buckets of user_version 3 reported 9.00 ms as 8.91 ms
    agent.send('v0.5', v05([[span(41001, 1, start=NOW_NS - 10**9, duration=9_000_000)]]))
    now = time.time()
    web = agent.api('/api/v1/services', start=now - 600, end=now)['services'][0]
    for key in ('p50_ns', 'p95_ns', 'p99_ns'):
        assert web[key] == pytest.approx(9_000_000, rel=0.01)
    latency = agent.api('/api/v1/latency', service=web['service'], start=now - 600, end=now)
    [bucket] = latency['buckets']
    assert bucket['lower_ns'] <= 9_000_000 <= bucket['upper_ns'] and bucket['count'] == 1


def old_histogram(buckets):
    """A histogram as user_version <= 3 stored it: (u16 bucket, u32 count)
    pairs of log-linear buckets, 8 an octave."""
    return b''.join(struct.pack('<HI', b, c) for b, c in buckets)


def test_histograms_of_an_older_database_are_carried_over(agent):
    agent.send('v0.5', v05([three_span_trace(31341)]))
    agent.stop()
    db = sqlite3.connect(agent.db_path)
    minute = (NOW_NS // 10**9 // 60 - 2) * 60
    # old bucket 180 ((24 - 2) * 8 + 4) holds [12 << 21, 13 << 21) ns: 26.2 ms
    db.executescript('DELETE FROM service_minutes; DELETE FROM resource_minutes;'
                     'PRAGMA user_version = 3;')
    db.execute('INSERT INTO service_minutes VALUES(?, ?, 4, 0, 100, ?)',
               (minute, 'legacy', old_histogram([(180, 4)])))
    db.commit()
    db.close()
    agent.start()
    now = time.time()
    [legacy] = [s for s in agent.api('/api/v1/services', start=now - 3600, end=now)['services']
                if s['service'] == 'legacy']
    assert legacy['hits'] == 4
    assert legacy['p50_ns'] == pytest.approx(((12 << 21) + (13 << 21)) / 2, rel=0.01)


def old_row_blob(span_id, start, duration):
    """A chunk's blob as blob.h describes it (version 1), one span."""
    strings = ['web', 'flask.request', 'GET /old', 'web', 'env', 'test']
    return msgpack.packb([1, strings, [[0, 1, 2, 3, span_id, 0, start, duration, 0, [4, 5], [],
                                        None, None]]], use_bin_type=True)


def test_a_database_from_before_blocks_and_id_ranges_is_upgraded(agent):
    # user_version 1 kept each chunk's blob inline in traces.spans and indexed
    # trace ids alone; opening it adds the block columns and swaps the index
    agent.send('v0.5', v05([three_span_trace(31338)]))
    agent.stop()
    db = sqlite3.connect(agent.db_path)
    db.executescript('DELETE FROM traces; DROP TABLE blocks;'
                     'DELETE FROM service_minutes; DELETE FROM resource_minutes;'
                     'DROP INDEX traces_by_range_trace_id;'
                     'ALTER TABLE traces DROP COLUMN block;'
                     'ALTER TABLE traces DROP COLUMN block_offset;'
                     'ALTER TABLE traces DROP COLUMN block_len;'
                     'CREATE INDEX traces_by_trace_id ON traces(trace_id);'
                     'PRAGMA user_version = 1;')
    start = NOW_NS - 60 * 10**9
    db.execute('INSERT INTO traces(trace_id, trace_id_high, start, duration, service, resource,'
               ' name, error, span_count, spans) VALUES(31339, 0, ?, 1000, ?, ?, ?, 0, 1, ?)',
               (start, 'web', 'GET /old', 'flask.request', old_row_blob(5, start, 1000)))
    db.commit()
    db.close()
    agent.start()
    old = agent.api('/api/v1/traces/31339')
    assert [(x['span_id'], x['resource'], x['meta']) for x in old['spans']] == [
        ('%016x' % 5, 'GET /old', {'env': 'test'})]
    agent.send('v0.5', v05([three_span_trace(31340)]))
    assert agent.api('/api/v1/traces/31340')['span_count'] == 3
    assert len(agent.api('/api/v1/traces', tag='env:test')['traces']) == 2
    db = sqlite3.connect('file:%s?mode=ro' % agent.db_path, uri=True)
    indexes = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert db.execute('PRAGMA user_version').fetchone()[0] == 5
    db.close()
    assert 'traces_by_trace_id' not in indexes and 'traces_by_range_trace_id' in indexes
