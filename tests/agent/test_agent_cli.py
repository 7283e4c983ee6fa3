"""The command line: --help documents every flag, bad flags fail clearly,
the startup line, and `ctrace-agent summary`."""
import os
import re
import signal
import socket
import subprocess
import time

import pytest

from agent_harness import Agent, agent_binary, span

FLAGS = ['--listen', '--socket', '--data', '--retention', '--max-size', '--retention-interval',
         '--forward', '--forward-queue', '--token', '--max-request-bytes', '--max-connections',
         '--connection-timeout', '--max-inflight', '--sync', '--env', '--help', '--version',
         '--token-file']


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
    assert out.returncode == 1      # not a sanitizer's abort either
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


# ---- one agent per data directory and per socket ----

def test_a_second_agent_on_the_same_data_directory_is_refused(agent, tmp_path):
    out = run('--listen', '127.0.0.1:0', '--data', agent.data_dir)
    assert out.returncode == 1
    assert 'is in use by another ctrace-agent (pid %d)' % agent.proc.pid in out.stderr
    assert agent.request('GET', '/info')[0] == 200


def test_the_data_directory_lock_dies_with_its_agent(agent):
    agent.kill9()                  # no clean shutdown: the kernel drops the lock
    agent.start()
    assert agent.request('GET', '/info')[0] == 200


def test_socket_path_holding_a_file_is_refused_and_kept(tmp_path):
    victim = tmp_path / 'notes.txt'
    victim.write_text('precious')
    out = run('--listen', 'off', '--socket', str(victim), '--data', str(tmp_path / 'd'))
    assert out.returncode == 1 and 'exists and is not a socket' in out.stderr
    assert victim.read_text() == 'precious'


def test_a_live_agents_socket_is_not_taken_over(agent_factory, tmp_path):
    path = str(tmp_path / 'apm.sock')
    first = agent_factory('--socket', path)
    out = run('--listen', 'off', '--socket', path, '--data', str(tmp_path / 'other'))
    assert out.returncode == 1 and 'another process is listening on it' in out.stderr
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)                # still the first agent's
    s.sendall(b'GET /info HTTP/1.0\r\n\r\n')
    assert s.recv(100).startswith(b'HTTP/1.1 200')
    s.close()
    assert first.request('GET', '/info')[0] == 200


def test_a_stale_socket_left_by_kill_9_is_replaced(agent_factory, tmp_path):
    path = str(tmp_path / 'apm.sock')
    a = agent_factory('--socket', path)
    a.kill9()
    assert os.path.exists(path)    # nobody listens on it any more
    a.start()
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    s.sendall(b'GET /info HTTP/1.0\r\n\r\n')
    assert s.recv(100).startswith(b'HTTP/1.1 200')
    s.close()


# ---- the token: from a file or the environment, never printed ----

def test_token_from_a_file(agent_factory, tmp_path):
    token_file = tmp_path / 'token'
    token_file.write_text('from-a-file\n')
    a = agent_factory('--token-file', str(token_file))
    assert 'from-a-file' not in ''.join(a.output)
    assert a.request('GET', '/api/v1/services')[0] == 401
    assert a.request('GET', '/api/v1/services',
                     headers={'Authorization': 'Bearer from-a-file'})[0] == 200


def test_token_from_the_environment(tmp_path):
    a = Agent(tmp_path / 'd')
    os.environ['CTRACE_AGENT_TOKEN'] = 'from-env'
    try:
        a.start()
    finally:
        del os.environ['CTRACE_AGENT_TOKEN']
    try:
        assert 'from-env' not in ''.join(a.output) and '(token required)' in a.output[0]
        assert a.request('GET', '/api/v1/services')[0] == 401
        assert a.request('GET', '/api/v1/services', headers={'Authorization': 'Bearer from-env'})[0] == 200
    finally:
        a.stop()


def test_token_on_the_command_line_is_hidden_from_the_process_list(agent_factory):
    a = agent_factory('--token', 'topsecret-cli')
    with open('/proc/%d/cmdline' % a.proc.pid, 'rb') as f:
        cmdline = f.read()
    assert b'topsecret-cli' not in cmdline and b'--token' in cmdline
    assert 'topsecret-cli' not in ''.join(a.output)
    assert a.request('GET', '/api/v1/services',
                     headers={'Authorization': 'Bearer topsecret-cli'})[0] == 200


@pytest.mark.parametrize('content', ['', '\n'])
def test_an_empty_token_file_is_refused(tmp_path, content):
    (tmp_path / 'token').write_text(content)
    out = run('--token-file', str(tmp_path / 'token'), '--data', str(tmp_path / 'd'))
    assert out.returncode == 2 and 'no token on its first line' in out.stderr
