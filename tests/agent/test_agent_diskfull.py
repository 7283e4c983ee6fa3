"""A full disk: payloads are refused with 507 (nothing acknowledged is
lost), reads go on, the WAL does not take the last of the space, and an
agent restarted while the disk is full comes up (read-only when its writer
cannot even open) to show what is stored. The disk is a small tmpfs mounted for the test (root only)."""
import json
import os
import subprocess
import tempfile

import pytest

from agent_harness import Agent, span

SIZE_MB = 48


@pytest.fixture
def small_disk():
    if os.geteuid() != 0:
        pytest.skip('mounting a tmpfs needs root')
    mnt = tempfile.mkdtemp(prefix='ctrace-full-')
    subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=%dm' % SIZE_MB, 'tmpfs', mnt], check=True)
    try:
        yield mnt
    finally:
        subprocess.run(['umount', '-l', mnt], check=True)
        os.rmdir(mnt)


def fill(agent):
    """Sends incompressible traces until the agent refuses them; returns
    the acknowledged trace ids and the refusals' answers."""
    acked, refused = [], []
    for i in range(SIZE_MB * 20):          # ~120 KB a request: the disk fills long before
        ids = [10_000 + i * 20 + k for k in range(20)]
        batch = [[span(t, 1, meta={'env': 'test', 'pad': os.urandom(3000).hex()})] for t in ids]
        status, body = agent.send('v0.4', batch)
        if status == 200:
            acked += ids
        else:
            refused.append((status, body))
            if len(refused) >= 3:
                break
    return acked, refused


def take_the_rest(mnt):
    """Fills what the stopped agent left free (its WAL, truncated at close,
    gave some back), so the restart meets a disk that is full to the byte,
    not one with room for the writer on some runs and not on others."""
    with open(os.path.join(mnt, 'filler'), 'wb', buffering=0) as f:
        chunk = b'\0' * 65536
        while chunk:
            try:
                f.write(chunk)
            except OSError:
                chunk = chunk[:len(chunk) // 2]


def info(agent):
    return json.loads(agent.request('GET', '/info')[2])['ctrace_database']


def test_a_full_disk_refuses_payloads_and_keeps_serving_reads(small_disk):
    a = Agent(os.path.join(small_disk, 'data'), ['--retention', '0', '--max-size', '0'])
    a.start()
    try:
        acked, refused = fill(a)
        assert refused and all(s == 507 and b'disk full' in b for s, b in refused), refused[:1]
        assert len(acked) > 1000
        assert info(a)['disk_full'] is True
        for t in (acked[0], acked[len(acked) // 2], acked[-1]):
            assert a.api('/api/v1/traces/%d' % t)['span_count'] == 1
        assert len(a.api('/api/v1/tail', limit=10)['traces']) == 10
        # the WAL was kept small as the disk ran low: the database got the space
        wal = os.stat(a.db_path + '-wal')
        assert wal.st_blocks * 512 < 8 << 20, wal.st_blocks * 512
        assert os.stat(a.db_path).st_blocks * 512 > (SIZE_MB // 2) << 20

        a.stop()                                   # and restarted while still full
        take_the_rest(small_disk)
        a.start()
        state = info(a)
        # read-only when the writer cannot even open (no room for its -shm),
        # writable but full when it can: full in both, and said at start
        assert state['disk_full'] is True, state
        assert a.wait_output('is full' + (': serving the stored traces read-only'
                                          if state['read_only'] else ' (under 1 MiB')), a.output
        for t in (acked[0], acked[len(acked) // 2], acked[-1]):
            assert a.api('/api/v1/traces/%d' % t)['span_count'] == 1
        status, body = a.send('v0.4', [[span(1, 1)]])
        assert status == 507 and b'disk full' in body
    finally:
        a.stop()
