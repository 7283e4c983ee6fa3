#!/usr/bin/env python3
"""Writes the seed corpora of the propagation, sampling_rules, config and
agent_normalize fuzz targets (fuzz/<target>/corpus/): the valid values the
unit tests use and the malformed ones they reject, small enough to replay
in the ordinary test run. The layout of each target's input is described
at the top of its fuzz_*.c. Rerun after changing a layout; new inputs a
fuzzer found worth keeping (a fixed crash) are added to corpus/ by hand.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

PROPAGATION = {
    'traceparent_00': b'00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    'traceparent_future': b'01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00-extra',
    'traceparent_zero_ids': b'00-00000000000000000000000000000000-0000000000000000-01',
    'traceparent_spaces': b' \t00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\t',
    'traceparent_upper': b'00-0AF7651916CD43DD8448EB211C80319C-B7AD6B7169203331-01',
    'dd_member': b's:2;o:rum;p:00f067aa0ba902b7;t.dm:-4;t.usr.id:baz64~~',
    'dd_member_bad_priority': b's:x;o:rum',
    'dd_member_long_tag': b't.a:1;t.' + b'k' * 300 + b':v',
    'dd_member_long_value': b't.a:1;t.b:' + b'v' * 300,
    'datadog_tags': b'_dd.p.dm=-4,_dd.p.tid=640cfd8d00000000, _dd.p.usr=a b ',
    'datadog_tags_bad': b'_dd.p.dm=-4,=x,,k',
    'datadog_tags_long': b'k=' + b'v' * 600,
    'baggage': b'userId=alice,serverNode=DF%2028, isProduction=false;prop=1',
    'baggage_bad': b'a=1,b,c=3',
    'baggage_percent': b'k%=%zz,%41%42=%e2%82%ac%',
    'baggage_many': b','.join(b'k%d=v' % i for i in range(70)),
    'decimal_max': b'18446744073709551615',
    'decimal_over': b'18446744073709551616',
    'hex_128': b'0123456789abcdefFEDCBA9876543210',
    'empty': b'',
}

SAMPLING_RULES = {
    'rules': b'[{"service": "web*", "name": "http.?equest", "sample_rate": 0.5}, '
             b'{"resource": "GET /users/*", "sample_rate": "0.25"}, {"sample_rate": 1}]',
    'tags': b'[{"tags": {"http.status_code": "2*", "count": 23, "ratio": "*"}, "sample_rate": 0.1}]',
    'bad_rules': b'[1, "x", {"no_rate": 1}, {"sample_rate": "abc"}, {"sample_rate": 0.3, "service": [1]},'
                 b' {"sample_rate": 0.2, "tags": {"k": {}}}, {"sample_rate": -3, "name": null}]',
    'numbers': b'[{"service": 1e20, "sample_rate": 2}, {"name": 12, "sample_rate": 1e400}, '
               b'{"tags": {"count": 23.5}, "sample_rate": 0.5}]',
    'not_array': b'{"sample_rate": 0.5}',
    'truncated': b'[{"service": "web", "sample_rate": 0.',
    'unicode': b'[{"service": "\\u00e9t\\u00e9", "resource": "\xc3\xa9*", "sample_rate": 0}]',
    'globs': b'[{"service": "***?*?", "name": "*a*b*c*", "resource": "", "sample_rate": 1.0}]',
    'empty': b'',
}


def config_line(name_index, value):
    return bytes([name_index]) + value


CONFIG = {
    'service_env_version': b'\n'.join([config_line(0, b'web'), config_line(1, b'prod'),
                                       config_line(2, b'1.2'), config_line(0, b'')]),
    'tags_comma': config_line(3, b'team:apm, env:prod,:novalue, novalue ,a:b:c'),
    'tags_space': config_line(3, b'team:apm  env:prod k'),
    'booleans': b'\n'.join(config_line(i, v) for i, v in
                           [(4, b'true'), (5, b'yes'), (6, b'0'), (15, b'off'), (17, b'maybe')]),
    'agent': b'\n'.join([config_line(7, b'::1'), config_line(8, b'8127'), config_line(8, b'99999'),
                         config_line(9, b'unix:///tmp/x.sock'), config_line(9, b'ftp://x'),
                         config_line(7, b'h' * 600)]),
    'numbers': b'\n'.join(config_line(i, v) for i, v in
                          [(10, b'0.5'), (10, b'nan'), (11, b'v0.4'), (11, b'v1'), (12, b'1e9'),
                           (13, b'-1'), (14, b'18446744073709551616'), (16, b'4294967296'),
                           (19, b'1.5'), (19, b'0.25'), (20, b'-5'), (20, b'12.7')]),
    'rules': config_line(18, b'[{"service": "web", "sample_rate": 0.5}]') + b'\n' +
             config_line(18, b'{"not": "an array"}'),
    'unknown_name': b'?DD_NOT_A_SETTING=1\n?=x\n?DD_SERVICE=named',
    'empty': b'',
}


def nstr(data):
    if len(data) < 255:
        return bytes([len(data)]) + data
    return b'\xff' + struct.pack('>H', len(data)) + data


def nspan(flags=0, start=1700000000000000000, duration=1000, service=b'web', name=b'http.request',
          resource=b'GET /', type_=b'web', meta=(), metrics=(), link=(b'', b'', b''), event=b''):
    out = bytes([flags]) + struct.pack('>qq', start, duration)
    out += nstr(service) + nstr(name) + nstr(resource) + nstr(type_)
    out += bytes([len(meta)]) + b''.join(nstr(k) + nstr(v) for k, v in meta)
    out += bytes([len(metrics)]) + b''.join(nstr(k) + struct.pack('>d', v) for k, v in metrics)
    return out + b''.join(nstr(x) for x in link) + nstr(event)


def head(spans, lang):
    return bytes([(spans - 1) | lang << 2])


NORMALIZE = {
    'valid': head(1, 2) + nspan(meta=[(b'env', b'Prod Env'), (b'http.status_code', b'200')],
                                metrics=[(b'_sampling_priority_v1', 1.0)]),
    'empty_fields': head(1, 0) + nspan(service=b'', name=b'', resource=b'', type_=b''),
    'lang_fallback': head(1, 3) + nspan(service=b'___', name=b'1234'),
    'bad_utf8': head(1, 4) + nspan(service=b'\xff\xfeSvc', name=b'a\xc3', resource=b'\xed\xa0\x80',
                                   meta=[(b'k\xff', b'v\xc0\xaf')], link=(b'\xff', b'\xfe', b'\x80'),
                                   event=b'\xf4\x90\x80\x80'),
    'long_strings': head(1, 2) + nspan(service=b's' * 300, name=b'n.' * 80, resource=b'r' * 5100,
                                       type_=b't' * 150, meta=[(b'k' * 250, b'v' * 25100)],
                                       metrics=[(b'm' * 250, 2.5)]),
    'times': head(4, 2) + nspan(start=0, duration=2**63 - 1) + nspan(flags=16, start=-5, duration=-5)
             + nspan(flags=32, start=2**63 - 10, duration=100) + nspan(flags=48, start=1, duration=2**62),
    'ids_rejected': head(2, 2) + nspan() + nspan(flags=2 | 16),
    'span_id_zero': head(1, 2) + nspan(flags=4),
    'status_codes': head(1, 2) + nspan(meta=[(b'http.status_code', b'99'), (b'http.status_code', b'abc'),
                                             (b'http.status_code', b'599')]),
    'names': head(1, 2) + nspan(name=b'_.a..b__c._d-e f\xc3\xa9', service=b'Caf\xc3\xa9 Svc\xef\xbf\xbd'),
    'empty': b'',
}


def write(target, seeds):
    out = os.path.join(HERE, target, 'corpus')
    os.makedirs(out, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(out, name), 'wb') as f:
            f.write(data)
    print('%d seeds written to %s' % (len(seeds), out))


if __name__ == '__main__':
    write('propagation', PROPAGATION)
    write('sampling_rules', SAMPLING_RULES)
    write('config', CONFIG)
    write('agent_normalize', NORMALIZE)
