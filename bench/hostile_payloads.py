"""Payloads that decode to far more memory than their size, for the
agent's memory benchmark and tests: spans whose meta map repeats one pair
(raw msgpack: a Python dict cannot repeat a key), in v0.4 and v0.5."""
import time

import msgpack

V05_TABLE = ['', 'web', 'flask.request', 'GET /users']


def _base_span(trace_id, span_id, parent_id):
    return {'trace_id': trace_id, 'span_id': span_id, 'parent_id': parent_id,
            'service': 'web', 'name': 'flask.request', 'resource': 'GET /users',
            'start': time.time_ns() - 60 * 10**9, 'duration': 1000, 'error': 0}


def v04_span(trace_id, span_id, meta_pairs, parent_id=0):
    """A v0.4 span whose meta holds meta_pairs pairs of "" -> ""."""
    d = _base_span(trace_id, span_id, parent_id)
    packed = msgpack.packb(d)
    return (bytes([0x80 | (len(d) + 1)]) + packed[1:] + b'\xa4meta\xdf' +
            meta_pairs.to_bytes(4, 'big') + b'\xa0\xa0' * meta_pairs)


def v05_span(trace_id, span_id, meta_pairs, parent_id=0):
    """A v0.5 span whose meta holds meta_pairs pairs of string index 0 -> 0."""
    d = _base_span(trace_id, span_id, parent_id)
    head = b''.join(msgpack.packb(x) for x in (1, 2, 3, trace_id, span_id, parent_id,
                                               d['start'], d['duration'], 0))
    meta = b'\xdf' + meta_pairs.to_bytes(4, 'big') + b'\x00\x00' * meta_pairs
    return b'\x9c' + head + meta + msgpack.packb({}) + msgpack.packb(0)


SPAN = {'v0.4': v04_span, 'v0.5': v05_span}


def payload(version, traces):
    """A payload of traces, each a list of raw spans from v04_span/v05_span."""
    body = b'\xdd' + len(traces).to_bytes(4, 'big') + b''.join(
        b'\xdd' + len(t).to_bytes(4, 'big') + b''.join(t) for t in traces)
    if version == 'v0.5':
        return b'\x92' + msgpack.packb(V05_TABLE) + body
    return body


def vm_hwm_bytes(pid):
    """The peak resident set of a process (VmHWM), in bytes."""
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmHWM:'):
                return int(line.split()[1]) * 1024
    raise RuntimeError('no VmHWM for %d' % pid)
