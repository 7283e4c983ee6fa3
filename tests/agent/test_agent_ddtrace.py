"""Payloads from the real ddtrace library (its own virtualenv,
.venv-ddtrace) are accepted, stored and queried back."""
import os
import subprocess
import textwrap
import time

import pytest

from agent_harness import ROOT

DDTRACE_PY = os.path.join(ROOT, '.venv-ddtrace', 'bin', 'python')

SCRIPT = textwrap.dedent('''
    import sys
    try:
        from ddtrace.trace import tracer
    except ImportError:
        from ddtrace import tracer

    ids = []
    for i in range(3):
        with tracer.trace('web.request', service='shop', resource='GET /item/%d' % i, span_type='web') as root:
            root.set_tag('customer', 'acme')
            root.set_tag('http.status_code', '200')
            root.set_metric('items', i)
            with tracer.trace('db.query', service='shop-db', resource='SELECT 1') as child:
                child.set_tag('db.system', 'postgresql')
            try:
                with tracer.trace('work.fail'):
                    raise ValueError('boom')
            except ValueError:
                pass
            ids.append(root.trace_id)
    tracer.flush()
    tracer.shutdown()
    print(' '.join(str(i) for i in ids))
''')


@pytest.mark.parametrize('api_version', ['v0.4', 'v0.5'])
def test_real_ddtrace_payloads_are_stored_and_queried_back(agent, api_version, tmp_path):
    if not os.path.exists(DDTRACE_PY):
        pytest.fail('real ddtrace is missing: create it with `python3 -m venv .venv-ddtrace && '
                    '.venv-ddtrace/bin/pip install ddtrace msgpack` (make peers does it)')
    env = dict(os.environ, DD_TRACE_AGENT_URL=agent.url, DD_TRACE_API_VERSION=api_version,
               DD_INSTRUMENTATION_TELEMETRY_ENABLED='false', DD_REMOTE_CONFIGURATION_ENABLED='false',
               DD_TRACE_STARTUP_LOGS='false', DD_ENV='ci', DD_VERSION='1.2.3')
    env.pop('PYTHONPATH', None)
    script = tmp_path / 'app.py'
    script.write_text(SCRIPT)
    out = subprocess.run([DDTRACE_PY, str(script)], env=env, capture_output=True, text=True,
                         timeout=120, cwd=str(tmp_path))
    assert out.returncode == 0, out.stderr[-3000:]
    ids = [int(x) for x in out.stdout.split()]
    assert len(ids) == 3
    deadline = time.time() + 10
    found = {}
    while time.time() < deadline and len(found) < 3:
        for tid in ids:
            st, _, _ = agent.request('GET', '/api/v1/traces/%d' % tid)
            if st == 200:
                found[tid] = agent.api('/api/v1/traces/%d' % tid)
        time.sleep(0.2)
    assert len(found) == 3, 'ddtrace traces missing; agent output: %s' % ''.join(agent.output)
    t = found[ids[0]]
    assert t['span_count'] == 3
    by_name = {s['name']: s for s in t['spans']}
    root = by_name['web.request']
    assert root['service'] == 'shop' and root['resource'] == 'GET /item/0' and root['type'] == 'web'
    assert root['parent_id'] is None and root['meta']['customer'] == 'acme'
    assert root['meta']['env'] == 'ci' and root['metrics']['items'] == 0
    # ddtrace's 128-bit ids: the high half in _dd.p.tid comes back in trace_id
    assert int(t['trace_id'], 16) == ids[0] or int(t['trace_id'], 16) & (2**64 - 1) == ids[0] & (2**64 - 1)
    assert by_name['db.query']['service'] == 'shop-db'
    assert by_name['db.query']['parent_id'] == root['span_id']
    fail = by_name['work.fail']
    assert fail['error'] == 1 and 'boom' in fail['meta'].get('error.message', '')
    svcs = {s['service']: s for s in agent.api('/api/v1/services')['services']}
    assert svcs['shop']['hits'] == 3 and svcs['shop-db']['hits'] == 3
    assert len(agent.api('/api/v1/traces', service='shop', tag='customer:acme')['traces']) == 3
