"""pytest setup for the integration tests: each test runs real programs
(scripts, gunicorn, uvicorn...) under real ddtrace and under ctrace in
their own virtualenvs, so nothing here imports ddtrace in-process."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pytest  # noqa: E402

import differential  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def peers_installed():
    """The differential tests need real ddtrace next to ours: `make peers`."""
    if not differential.have_ddtrace():
        pytest.fail("real ddtrace is missing: run `make peers` (make test does)")


# -- real servers, started once per session the first time a test needs one ---------
import servers  # noqa: E402


def _session_server(server_cls):
    @pytest.fixture(scope="session")
    def fixture():
        with server_cls() as server:
            yield server
    return fixture


postgres_server = _session_server(servers.PostgresServer)
mariadb_server = _session_server(servers.MariaDBServer)
redis_server = _session_server(servers.RedisServer)
redis_cluster = _session_server(servers.RedisCluster)
memcached_server = _session_server(servers.MemcachedServer)


@pytest.fixture
def down_port():
    """A port of 127.0.0.1 nothing listens on: a server that is down."""
    return servers.free_port()
