"""A damaged database: refused at start with a clear reason, the way out
and exit status 3; damage met while serving makes reads answer 500 (not a
200 with what was read before it) and shows in /info."""
import json
import os
import sqlite3
import subprocess

from agent_harness import agent_binary, span


def filled(agent_factory, traces=300):
    a = agent_factory()
    for i in range(0, traces, 100):
        batch = [[span(1000 + i + k, 1, meta={'env': 'test', 'customer': 'c%d' % (i + k)})]
                 for k in range(100)]
        assert a.send('v0.4', batch)[0] == 200
    return a


def start_fails(data_dir):
    return subprocess.run([agent_binary(), '--listen', '127.0.0.1:0', '--data', data_dir],
                          capture_output=True, text=True, timeout=60)


def overwrite(path, offset, data):
    with open(path, 'r+b') as f:
        f.seek(offset)
        f.write(data)


def test_a_damaged_header_is_refused_with_how_to_recover(agent_factory):
    a = filled(agent_factory, 100)
    a.stop()
    overwrite(a.db_path, 0, b'this is not sqlite' * 4)
    out = start_fails(a.data_dir)
    assert out.returncode == 3, out
    assert 'is damaged (file is not a database)' in out.stderr
    assert 'To recover: stop ctrace-agent, move ctrace.db' in out.stderr
    assert '.recover' in out.stderr


def test_damaged_pages_are_found_by_the_check_at_start(agent_factory):
    a = filled(agent_factory)
    a.stop()
    db = sqlite3.connect(a.db_path)
    page_size = db.execute('PRAGMA page_size').fetchone()[0]
    root = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'traces'").fetchone()[0]
    db.close()
    overwrite(a.db_path, (root - 1) * page_size + 8, os.urandom(page_size - 16))
    out = start_fails(a.data_dir)
    assert out.returncode == 3, out
    assert 'is damaged' in out.stderr and 'To recover' in out.stderr


def test_a_healthy_database_says_so_in_info(agent):
    info = json.loads(agent.request('GET', '/info')[2])
    assert info['ctrace_database'] == {'damaged': False, 'disk_full': False, 'read_only': False}


def test_damaged_blocks_answer_500_and_show_in_info(agent_factory):
    a = filled(agent_factory, 100)
    assert a.api('/api/v1/traces/%d' % 1050)['span_count'] == 1
    db = sqlite3.connect(a.db_path, timeout=30)
    db.execute('UPDATE blocks SET data = randomblob(length(data))')
    db.commit()
    db.close()
    # before: 404 "trace not found" and an empty search answered 200
    status, _, body = a.request('GET', '/api/v1/traces/%d' % 1050)
    assert status == 500 and b'damaged trace block' in body, body
    status, _, body = a.request('GET', '/api/v1/traces?tag=customer:c50&start=0')
    assert status == 500 and b'database read failed' in body, body
    info = json.loads(a.request('GET', '/info')[2])
    assert info['ctrace_database']['damaged'] is True
    assert 'To recover' in info['ctrace_database']['recovery']
    assert a.wait_output('is damaged'), a.output


def test_a_query_that_cannot_be_prepared_answers_500_not_empty(agent_factory):
    a = filled(agent_factory, 100)
    assert a.api('/api/v1/operations', service='web')['names'] == ['flask.request']
    db = sqlite3.connect(a.db_path, timeout=30)
    db.execute('DROP TABLE operations')
    db.commit()
    db.close()
    # before: 200 {"names":[],"resources":[]}
    status, _, body = a.request('GET', '/api/v1/operations?service=web')
    assert status == 500 and b'no such table: operations' in body, body
    assert a.request('GET', '/api/v1/tail')[0] == 200     # the rest still answers
