"""Query parameters of the API are bounded before anything is derived from
them: an out-of-range time or integer is a 400 with a reason, and the
agent keeps serving (a range whose bucket count overflowed int64 used to
reach an allocation and abort the agent)."""
import pytest

from agent_harness import span

RANGE_ENDPOINTS = ('/api/v1/services', '/api/v1/services/web/resources', '/api/v1/latency',
                   '/api/v1/traces', '/api/v1/servicemap')


@pytest.mark.parametrize('path', RANGE_ENDPOINTS)
@pytest.mark.parametrize('params', [
    {'start': '0', 'end': '1e23'},
    {'start': '-1e23', 'end': '0'},
    {'end': '1e300'},
    {'start': '9223372036', 'end': '9223372037'},
    {'start': '0', 'end': 'inf'},
    {'start': 'nan', 'end': '1'},
    {'start': '-5', 'end': '10'},
])
def test_out_of_range_times_are_a_400(agent, path, params):
    body = agent.api(path, expect=400, service='web', **params)
    assert 'unix seconds' in body['error']
    assert agent.request('GET', '/info')[0] == 200


def test_the_widest_range_allowed_is_served(agent):
    assert agent.send('v0.4', [[span(7, 1)]])[0] == 200
    body = agent.api('/api/v1/services', start=0, end=9223372035)
    assert [s['service'] for s in body['services']] == ['web']
    assert len(body['services'][0]['series']) <= 62
    found = agent.api('/api/v1/traces', start=0, end=9223372035)['traces']
    assert [t['span_count'] for t in found] == [1]


@pytest.mark.parametrize('path, params', [
    ('/api/v1/traces', {'min_duration_ns': '99999999999999999999'}),
    ('/api/v1/traces', {'max_duration_ns': '-99999999999999999999'}),
    ('/api/v1/traces', {'limit': '18446744073709551617'}),
    ('/api/v1/tail', {'after': '99999999999999999999'}),
    ('/api/v1/tail', {'limit': '-99999999999999999999'}),
    ('/api/v1/traces', {'cursor': '99999999999999999999_1'}),
    ('/api/v1/traces', {'cursor': '1_99999999999999999999'}),
    ('/api/v1/traces', {'cursor': '1_2x'}),
    ('/api/v1/traces', {'cursor': '_2'}),
])
def test_integers_that_overflow_int64_are_a_400(agent, path, params):
    agent.api(path, expect=400, **params)
    assert agent.request('GET', '/info')[0] == 200
