"""Realistic Datadog trace payloads for ctrace-agent benchmarks and tests.

A payload is encoded once with msgpack as a template; every trace id and
span start in it is a unique placeholder whose byte offsets are recorded,
so fresh payloads (new trace ids, new timestamps) are made by patching
bytes, not by re-encoding: the client must be far cheaper than the agent it
measures.
"""
import random
import struct

import msgpack

SPANS_PER_TRACE = 10
_TID_BASE = 0x7A7A7A0000000000
_START_BASE = 0x5B5B5B0000000000

SERVICES = ['web-store', 'checkout', 'inventory', 'auth', 'search']
ROUTES = ['GET /users/?', 'GET /products/?', 'POST /cart', 'GET /search', 'POST /login',
          'GET /orders/?', 'DELETE /cart/?', 'GET /health']


# The tags real ddtrace 4.x sends for this trace shape, and where: the
# trace-level ones (language, runtime-id, _dd.p.*, process info, sampling
# priority) on the chunk's root only; env on every span, version where the
# span's service is the application's (DD_SERVICE); _dd.base_service where
# it is not; _dd.top_level on each service's entry span. Checked by
# capturing what .venv-ddtrace sends for the same spans (~360 B per span
# in v0.4). Until this was written, every span carried the root's tags
# (~430 B per span), which made the benchmark's v0.4 payloads heavier
# than any tracer's.
_PROCESS_TAGS = ('entrypoint.basedir:app,entrypoint.name:wsgi,entrypoint.type:script,'
                 'entrypoint.workdir:srv,svc.auto:web-store')


def _service_meta(svc, app_svc):
    meta = {'env': 'prod', '_dd.svc_src': 'm'}
    if svc == app_svc:
        meta['version'] = '1.4.2'
    else:
        meta['_dd.base_service'] = app_svc
    return meta


def _trace_spans(i, rng, trace_id, start):
    """One web request: a root, a db span, cache spans and a template."""
    svc = SERVICES[i % len(SERVICES)]
    route = ROUTES[i % len(ROUTES)]
    root_id = rng.getrandbits(63) | 1
    spans = []
    root_meta = dict(_service_meta(svc, svc), **{
        'language': 'python', 'runtime-id': 'a7c2f1e4b6d84f0e9c3b2a1d0e9f8c7b',
        '_dd.p.dm': '-0', '_dd.p.tid': '6556e0a400000000', '_dd.tags.process': _PROCESS_TAGS,
        'http.method': route.split()[0], 'http.route': route.split()[1],
        'http.url': 'http://shop.example.com' + route.split()[1].replace('?', str(i)),
        'http.status_code': '200' if i % 50 else '500',
        'component': 'flask', 'span.kind': 'server'})
    spans.append({'trace_id': trace_id, 'span_id': root_id, 'parent_id': 0,
                  'service': svc, 'name': 'flask.request', 'resource': route, 'type': 'web',
                  'start': start, 'duration': 2_000_000 + (i * 7919) % 40_000_000,
                  'error': 0 if i % 50 else 1, 'meta': root_meta,
                  'metrics': {'_sampling_priority_v1': 1.0, '_dd.top_level': 1.0,
                              '_dd.tracer_kr': 1.0, 'process_id': 4242.0}})
    for k in range(1, SPANS_PER_TRACE):
        kind = k % 3
        name, child_svc, typ = (('postgres.query', svc + '-db', 'sql'), ('redis.command', 'redis', 'cache'),
                                ('flask.render_template', svc, 'template'))[kind]
        resource = ('SELECT * FROM items WHERE id = ?', 'GET', 'index.html')[kind]
        metrics = {'db.row_count': float(k)}
        if child_svc != svc:
            metrics['_dd.top_level'] = 1.0
        spans.append({'trace_id': trace_id, 'span_id': rng.getrandbits(63) | 1, 'parent_id': root_id,
                      'service': child_svc, 'name': name, 'resource': resource, 'type': typ,
                      'start': start + k, 'duration': 100_000 + k * 10_000, 'error': 0,
                      'meta': dict(_service_meta(child_svc, svc), **{
                          'component': name.split('.')[0], 'span.kind': 'client',
                          'db.system': 'postgresql', 'out.host': 'db.internal'}),
                      'metrics': metrics})
    return spans


def build_traces(n_traces, seed=1):
    rng = random.Random(seed)
    return [_trace_spans(i, rng, _TID_BASE + i, _START_BASE + i * 1000) for i in range(n_traces)]


def encode_v04(traces):
    return msgpack.packb(traces, use_bin_type=True)


def encode_v05(traces):
    table, index = [], {}

    def ix(s):
        if s not in index:
            index[s] = len(table)
            table.append(s)
        return index[s]

    ix('')
    out = []
    for t in traces:
        out.append([[ix(s['service']), ix(s['name']), ix(s['resource']), s['trace_id'], s['span_id'],
                     s['parent_id'], s['start'], s['duration'], s['error'],
                     {ix(k): ix(v) for k, v in s['meta'].items()},
                     {ix(k): float(v) for k, v in s['metrics'].items()}, ix(s['type'])] for s in t])
    return msgpack.packb([table, out], use_bin_type=True)


class Template:
    """A payload of n_traces traces whose ids and starts can be rewritten."""

    def __init__(self, version='v0.4', n_traces=100, seed=1):
        self.version = version
        self.n_traces = n_traces
        traces = build_traces(n_traces, seed)
        self.spans = n_traces * SPANS_PER_TRACE
        raw = encode_v05(traces) if version == 'v0.5' else encode_v04(traces)
        self.raw = raw
        self.tid_offsets = []    # per trace: offsets of its trace ids
        self.start_offsets = []  # per trace: (offset, delta) of each span start
        for i in range(n_traces):
            self.tid_offsets.append(_find_all(raw, b'\xcf' + struct.pack('>Q', _TID_BASE + i)))
            starts = []
            base = _START_BASE + i * 1000
            for k in range(SPANS_PER_TRACE):
                for off in _find_all(raw, b'\xcf' + struct.pack('>Q', base + k)):
                    starts.append((off, k))
            self.start_offsets.append(starts)

    def make(self, first_trace_id, start_ns, spread_ns=0):
        """Bytes of the payload with trace ids first_trace_id.. and starts
        from start_ns, trace i at start_ns + i * spread_ns / n_traces."""
        buf = bytearray(self.raw)
        pack = struct.pack_into
        for i in range(self.n_traces):
            tid = first_trace_id + i
            for off in self.tid_offsets[i]:
                pack('>Q', buf, off + 1, tid)
            st = start_ns + (i * spread_ns) // self.n_traces
            for off, k in self.start_offsets[i]:
                pack('>Q', buf, off + 1, st + k * 1000)
        return bytes(buf)

    def write(self, path):
        """Writes the template for bench/agent_load.c (see its header):
        the payload and where its trace ids and span starts are."""
        u32 = struct.Struct('<I').pack
        parts = [u32(self.spans), u32(len(self.raw)), self.raw]
        tids = [(off + 1, i) for i, offs in enumerate(self.tid_offsets) for off in offs]
        parts.append(u32(len(tids)))
        parts += [u32(off) + u32(i) for off, i in tids]
        starts = [(off + 1, i, k) for i, offs in enumerate(self.start_offsets) for off, k in offs]
        parts.append(u32(len(starts)))
        parts += [u32(off) + u32(i) + u32(k) for off, i, k in starts]
        with open(path, 'wb') as f:
            f.write(b''.join(parts))


def _find_all(data, pattern):
    out, pos = [], data.find(pattern)
    while pos >= 0:
        out.append(pos)
        pos = data.find(pattern, pos + 1)
    return out
