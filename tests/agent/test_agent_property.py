"""Property: any well-typed span the agent accepts comes back with its ids,
times and (short, valid) strings unchanged, in v0.4 and v0.5 alike."""
import itertools

from hypothesis import HealthCheck, given, settings, strategies as st

from agent_harness import NOW_NS, v05

ids = itertools.count(10**12)
text = st.text(alphabet=st.characters(blacklist_categories=('Cs',)), min_size=1, max_size=40)
spans = st.fixed_dictionaries({
    'span_id': st.integers(1, 2**64 - 1),
    'resource': text,
    'type': st.text(max_size=20),
    'start': st.integers(NOW_NS - 10**12, NOW_NS),
    'duration': st.integers(0, 10**12),
    'error': st.integers(0, 1),
    'meta': st.dictionaries(st.text(min_size=1, max_size=30).filter(lambda k: k not in ('env', 'http.status_code')),
                            text, max_size=5),
    'metrics': st.dictionaries(st.text(min_size=1, max_size=30),
                               st.floats(allow_nan=False, allow_infinity=False, width=64), max_size=5),
})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(s=spans, use_v05=st.booleans())
def test_accepted_spans_round_trip(agent, s, use_v05):
    tid = next(ids)
    s = dict(s, trace_id=tid, parent_id=0, service='svc', name='op.name')
    status, body = agent.send('v0.5', v05([[s]])) if use_v05 else agent.send('v0.4', [[s]])
    assert status == 200, body
    got = agent.api('/api/v1/traces/%d' % tid)['spans'][0]
    assert got['span_id'] == '%016x' % s['span_id']
    assert got['start_us'] == s['start'] // 1000 and got['duration_ns'] == s['duration']
    assert got['error'] == s['error'] and got['resource'] == s['resource'] and got['type'] == s['type']
    assert got['meta'] == s['meta']
    assert got['metrics'] == s['metrics']
