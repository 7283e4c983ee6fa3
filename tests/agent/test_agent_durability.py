"""kill -9 at any moment loses nothing that was acknowledged; retention by
age and size works in the background; forwarding reaches an upstream."""
import os
import sqlite3
import threading
import time

import msgpack
import pytest

from agent_harness import NOW_NS, span, trace_count, v05


def stored_trace_ids(agent):
    db = sqlite3.connect('file:%s?mode=ro' % agent.db_path, uri=True)
    try:
        assert db.execute('PRAGMA integrity_check').fetchone()[0] == 'ok'
        return {r[0] & (2**64 - 1) for r in db.execute('SELECT trace_id FROM traces')}
    finally:
        db.close()


def count(agent, sql):
    db = sqlite3.connect('file:%s?mode=ro' % agent.db_path, uri=True)
    try:
        return db.execute(sql).fetchone()[0]
    finally:
        db.close()


def blocks_without_rows(agent):
    """Blocks no chunk points to: retention must delete them with their rows."""
    return count(agent, 'SELECT count(*) FROM blocks WHERE id NOT IN'
                        ' (SELECT block FROM traces WHERE block IS NOT NULL)')


def search_entries_without_blocks(agent):
    """Span-search entries of deleted blocks: retention deletes them too."""
    return count(agent, 'SELECT count(*) FROM block_services WHERE block NOT IN (SELECT id FROM blocks)')


@pytest.mark.parametrize('kill_after', [0.3, 0.9, 1.6])
def test_kill_9_during_ingest_loses_nothing_acknowledged(agent, kill_after):
    acked, lock, stop = set(), threading.Lock(), threading.Event()

    def client(cid):
        n = 0
        while not stop.is_set():
            ids = [(cid << 32) + n + i + 1 for i in range(20)]
            n += 20
            traces = [[span(t, 1), span(t, 2, 1, service='db')] for t in ids]
            try:
                if cid % 2:
                    status, _ = agent.send('v0.5', v05(traces))
                else:
                    status, _ = agent.send('v0.4', traces)
            except OSError:
                return
            if status == 200:
                with lock:
                    acked.update(ids)

    threads = [threading.Thread(target=client, args=(c + 1,)) for c in range(6)]
    for t in threads:
        t.start()
    time.sleep(kill_after)
    agent.kill9()
    stop.set()
    for t in threads:
        t.join()
    assert acked, 'no payload was acknowledged before the kill'
    agent.start()
    missing = acked - stored_trace_ids(agent)
    assert not missing, '%d acknowledged traces lost' % len(missing)
    one = next(iter(acked))
    assert agent.api('/api/v1/traces/%d' % one)['span_count'] == 2


def test_retention_by_age_runs_in_the_background(agent_factory):
    a = agent_factory('--retention', '1h', '--retention-interval', '200ms')
    old = NOW_NS - 2 * 3600 * 10**9
    assert a.send('v0.4', [[span(1, 1, start=old)], [span(2, 1)]])[0] == 200
    deadline = time.time() + 10
    while time.time() < deadline and trace_count(a) != 1:
        time.sleep(0.1)
    assert [t['trace_id'] for t in a.api('/api/v1/tail')['traces']] == ['%032x' % 2]
    a.api('/api/v1/traces/1', expect=404)
    now = time.time()

    def hits():
        return a.api('/api/v1/services', start=now - 3 * 3600, end=now)['services'][0]['hits']
    # the old minute's aggregate goes too, in the pass's next transaction
    while time.time() < deadline and hits() != 1:
        time.sleep(0.1)
    assert hits() == 1
    # another service (retention walks service by service), a block of its own
    assert a.send('v0.4', [[span(3, 1, start=old, service='billing')]])[0] == 200
    deadline = time.time() + 10
    while time.time() < deadline and trace_count(a) != 1:
        time.sleep(0.1)
    # trace 2's block, shared with the deleted trace 1, stays; trace 3's goes
    assert trace_count(a) == 1 and blocks_without_rows(a) == 0
    assert search_entries_without_blocks(a) == 0
    assert a.api('/api/v1/traces', service='billing')['traces'] == []
    a.api('/api/v1/traces/2')


def test_retention_by_size_keeps_the_newest_and_shrinks_the_file(agent_factory):
    a = agent_factory('--max-size', '2MiB', '--retention-interval', '200ms')
    for batch in range(40):
        # random padding: spans are stored compressed, and ~3 MB must not fit
        traces = [[span(batch * 100 + i + 1, 1, meta={'pad': os.urandom(1500).hex()})]
                  for i in range(50)]
        assert a.send('v0.4', traces)[0] == 200
    newest = 39 * 100 + 50

    def live_size():
        db = sqlite3.connect('file:%s?mode=ro' % a.db_path, uri=True)
        try:
            pc, fl, ps = (db.execute('PRAGMA %s' % p).fetchone()[0]
                          for p in ('page_count', 'freelist_count', 'page_size'))
            return (pc - fl) * ps, pc * ps
        finally:
            db.close()

    deadline = time.time() + 15
    while time.time() < deadline and live_size()[0] > 2 * 2**20:
        time.sleep(0.2)
    live, total = live_size()
    assert live <= 2 * 2**20
    a.api('/api/v1/traces/%d' % newest)
    a.api('/api/v1/traces/1', expect=404)
    time.sleep(0.5)
    assert live_size()[1] <= 2.2 * 2**20      # freed pages returned to the file system
    assert blocks_without_rows(a) == 0
    assert any('retention: deleted' in line for line in a.output)


def test_forwarding_to_a_second_agent(agent_factory):
    upstream = agent_factory()
    a = agent_factory('--forward', upstream.url)
    assert a.send('v0.4', [[span(11, 1, service='')]])[0] == 200
    assert a.send('v0.5', v05([[span(12, 1)]]))[0] == 200
    assert a.request('PUT', '/v0.6/stats', b'\x80', {'Content-Type': 'application/msgpack'})[0] == 200
    deadline = time.time() + 10
    while time.time() < deadline and trace_count(upstream) < 2:
        time.sleep(0.1)
    assert trace_count(upstream) == 2 and trace_count(a) == 2
    # Datadog-Meta-Lang was forwarded: the upstream named the service after it
    assert upstream.api('/api/v1/traces/11')['spans'][0]['service'] == 'unnamed-python-service'
    assert upstream.api('/api/v1/traces/12')['span_count'] == 1


def test_forwarding_to_a_dead_upstream_never_blocks_intake(agent_factory):
    a = agent_factory('--forward', 'http://127.0.0.1:9', '--forward-queue', '64KiB')
    big = [[span(20 + i, 1, meta={'pad': 'y' * 5000})] for i in range(20)]
    t0 = time.time()
    for i in range(10):
        assert a.send('v0.4', big)[0] == 200
    assert time.time() - t0 < 5
    assert trace_count(a) == 200   # every payload stored, whatever the upstream does
    a.stop()
    out = ''.join(a.output)
    assert 'forward queue full, payload dropped' in out
    assert 'dropped' in out and 'stopped after' in out
