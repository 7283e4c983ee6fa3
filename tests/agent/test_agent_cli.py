"""The command line: --help documents every flag, bad flags fail clearly,
the startup line, and `ctrace-agent summary`."""
import re
import subprocess

import pytest

from conftest import agent_binary, span

FLAGS = ['--listen', '--socket', '--data', '--retention', '--max-size', '--retention-interval',
         '--forward', '--forward-queue', '--token', '--max-request-bytes', '--max-connections',
         '--connection-timeout', '--max-inflight', '--sync', '--env', '--help', '--version']


def run(*args, **kw):
    return subprocess.run([agent_binary(), *args], capture_output=True, text=True, timeout=30, **kw)


def test_help_documents_every_flag():
    out = run('--help')
    assert out.returncode == 0
    for flag in FLAGS:
        assert re.search(r'^\s+' + re.escape(flag) + r'\b', out.stdout, re.M), flag
    assert 'summary' in out.stdout
    # every long option the parser knows is in the help
    assert run('--version').stdout.startswith('ctrace-agent ')


@pytest.mark.parametrize('args,message', [
    (['--retention', '7x'], '--retention: bad duration'),
    (['--max-size', 'lots'], '--max-size: bad size'),
    (['--listen', 'localhost:99999'], '--listen: bad port'),
    (['--forward', 'ftp://x'], '--forward: URL must start with'),
    (['--sync', 'maybe'], '--sync'),
    (['--bogus'], 'unknown or incomplete option'),
    (['--listen', 'off'], 'nothing to listen on'),
])
def test_bad_flags_fail_with_a_clear_message(args, message, tmp_path):
    out = run(*args, '--data', str(tmp_path))
    assert out.returncode == 2 and message in out.stderr


def test_a_second_agent_on_a_taken_port_fails_clearly(agent, tmp_path):
    out = run('--listen', '127.0.0.1:%d' % agent.port, '--data', str(tmp_path))
    assert out.returncode != 0
    assert 'cannot listen on 127.0.0.1:%d (in use?)' % agent.port in out.stderr
    assert agent.request('GET', '/info')[0] == 200   # the first one is untouched


def test_startup_line_names_address_data_file_and_ui(agent):
    line = agent.output[0]
    assert re.match(r'ctrace-agent \S+ listening on http://127\.0\.0\.1:\d+, data .*ctrace\.db, '
                    r'UI http://127\.0\.0\.1:\d+/', line), line


def test_summary_prints_services_resources_and_slowest_traces(agent):
    agent.send('v0.4', [[span(1, 1, service='checkout', resource='POST /pay', duration=9_000_000, error=1),
                         span(1, 2, 1, service='payments-db', resource='INSERT', duration=1000)],
                        [span(2, 1, service='checkout', resource='GET /cart', duration=2_000_000)]])
    out = run('summary', '--data', agent.data_dir)   # while the agent runs
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert '2 chunks, 3 spans' in text
    assert re.search(r'^checkout\s+2\s+1\s+50\.0%', text, re.M)
    assert re.search(r'^  POST /pay\s+1\s+1', text, re.M) and 'GET /cart' in text
    assert 'payments-db' in text
    slow = text.split('Slowest traces')[1].strip().splitlines()
    assert slow[1].startswith('%032x' % 1) and '9.0ms' in slow[1]
    agent.stop()
    assert run('summary', '--data', agent.data_dir).returncode == 0   # and when it is stopped


def test_summary_columns_align_with_non_ascii_and_hostile_names(agent):
    names = ['ascii-svc', 'caf\u00e9-\u00fc\u00f1\u00ee', '\u652f\u4ed8\u670d\u52a1',
             'evil\x1b[31mred', 'x' * 80]
    agent.send('v0.4', [[span(10 + i, 1, service=name, resource='r' if i != 3 else 'GET /\x1b[2J', duration=1_000_000)]
                        for i, name in enumerate(names)])
    # under the C locale too: names are UTF-8 whatever the terminal says
    out = run('summary', '--data', agent.data_dir, env={'LC_ALL': 'C'})
    assert out.returncode == 0, out.stderr
    rows = [line for line in out.stdout.splitlines()
            if line and not line.startswith((' ', 'ctrace', 'Services', 'service', 'Slowest'))
            and re.search(r'\s1\s+0\s+0\.0%', line)]
    assert len(rows) == len(names)
    # the hits column (44 columns of name, a space, 10 of count) ends at the
    # same terminal column on every row
    ends = {unicodedata_width(line[:re.search(r'\s1\s+0\s+0\.0%', line).start() + 2]) for line in rows}
    assert ends == {55}, rows
    assert '\x1b' not in out.stdout   # a name cannot drive the terminal


def unicodedata_width(text):
    """Terminal columns of text: East Asian wide characters take two."""
    import unicodedata
    return sum(2 if unicodedata.east_asian_width(c) in 'WF' else 1 for c in text)


def test_summary_without_a_database(tmp_path):
    out = run('summary', '--data', str(tmp_path / 'none'))
    assert out.returncode == 1 and 'no database' in out.stderr
