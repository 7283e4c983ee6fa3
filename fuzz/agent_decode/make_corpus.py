#!/usr/bin/env python3
"""Writes the seed corpus of the agent decode fuzz target (corpus/).

Each file is one byte selecting the format (see fuzz_decode.c: 0x01 v0.4
msgpack, 0x02 v0.5, 0x00 v0.3, 0x04 v0.4 JSON) followed by a request body:
valid payloads of every shape the agent accepts, and the malformed ones the
tests reject. Needs the msgpack package; rerun after changing the formats.
"""
import json
import os

import msgpack

HERE = os.path.dirname(os.path.abspath(__file__))


def span(tid, sid, parent=0, **kw):
    s = {'trace_id': tid, 'span_id': sid, 'parent_id': parent, 'service': 'web', 'name': 'req',
         'resource': 'GET /', 'type': 'web', 'start': 1700000000000000000, 'duration': 1000,
         'error': 0, 'meta': {'env': 'prod', '_dd.p.tid': '6556e0a400000000'},
         'metrics': {'_sampling_priority_v1': 1.0, '_dd.top_level': 1.0}}
    s.update(kw)
    return s


def v05(traces):
    table, index = [''], {'': 0}

    def ix(x):
        if x not in index:
            index[x] = len(table)
            table.append(x)
        return index[x]

    return msgpack.packb([table, [[[ix(s['service']), ix(s['name']), ix(s['resource']), s['trace_id'],
                                    s['span_id'], s['parent_id'], s['start'], s['duration'], s['error'],
                                    {ix(k): ix(v) for k, v in s['meta'].items()},
                                    {ix(k): v for k, v in s['metrics'].items()}, ix(s['type'])]
                                   for s in t] for t in traces]])


def main():
    trace = [span(5, 1), span(5, 2, 1, service='db', name='pg.query'), span(5, 3, 2, error=1)]
    rich = [span(6, 1, span_links=[{'trace_id': 1, 'trace_id_high': 2, 'span_id': 3,
                                    'attributes': {'a': 'b'}, 'tracestate': 'x', 'flags': 2**31 | 1}],
                 span_events=[{'name': 'e', 'time_unix_nano': 1, 'attributes': {
                     'k': {'type': 0, 'string_value': 'v'}, 'arr': {'type': 4, 'array_value': {
                         'values': [{'type': 2, 'int_value': 1}]}}}}],
                 meta_struct={'x': msgpack.packb({'y': 1})})]
    seeds = {
        'v04_trace': b'\x01' + msgpack.packb([trace]),
        'v04_rich': b'\x01' + msgpack.packb([rich], use_bin_type=True),
        'v04_two_traces_and_empty': b'\x01' + msgpack.packb([trace, [], [span(7, 1)]]),
        'v04_nils': b'\x01' + msgpack.packb([[{'trace_id': 1, 'span_id': 1, 'meta': None, 'metrics': None,
                                                'service': None, 'start': None}]]),
        'v04_bad_utf8': b'\x01' + msgpack.packb([[span(8, 1)]]).replace(b'\xa3web', b'\xa3w\xff\xfe'),
        'v04_invalid_chunks': b'\x01' + msgpack.packb([[span(0, 1)], [span(9, 0)], [span(1, 1), span(2, 2)]]),
        'v04_long_strings': b'\x01' + msgpack.packb([[span(10, 1, resource='r' * 6000,
                                                          meta={'k' * 300: 'v' * 26000})]]),
        'v03_trace': b'\x00' + msgpack.packb([trace]),
        'v04_json': b'\x04' + json.dumps([trace]).encode(),
        'v03_json': b'\x06' + json.dumps([[span(2**64 - 1, 1, service='caf\u00e9 \\ud83d')]]).encode(),
        'v05_trace': b'\x02' + v05([trace]),
        'v05_empty': b'\x02' + msgpack.packb([[''], []]),
        'bad_truncated': b'\x01' + msgpack.packb([trace])[:-9],
        'bad_huge_count': b'\x01\x91\xdd\xff\xff\xff\xff',
        'bad_deep': b'\x01\x91\x91\x81\xa1x' + b'\x91' * 60 + b'\x00',
        'bad_float32': b'\x01' + msgpack.packb([[span(1, 1, metrics={'m': 1.5})]], use_single_float=True),
        'bad_v05_eleven': b'\x02' + msgpack.packb([[''], [[[0] * 11]]]),
        'bad_v05_index': b'\x02' + msgpack.packb([[''], [[[0, 0, 9, 1, 1, 0, 1, 1, 0, {}, {}, 0]]]]),
        'bad_json': b'\x04[[{"trace_id": 1,',
        'bad_empty': b'\x01',
    }
    out = os.path.join(HERE, 'corpus')
    os.makedirs(out, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(out, name), 'wb') as f:
            f.write(data)
    print('%d seeds written to %s' % (len(seeds), out))


if __name__ == '__main__':
    main()
