"""Real database, cache and broker servers for the integration tests.

Each server is the Debian package's binary (tools/install-system-deps),
started on 127.0.0.1 on a free port with its data in a temporary directory,
and stopped (and the directory removed) at the end. PostgreSQL and MariaDB
refuse to run as root, so when the tests run as root they run as `nobody`
(setpriv), owning their temporary directory.

``with PostgresServer() as pg: pg.dsn`` or through the session fixtures of
conftest.py, which start a server the first time a test asks for it.
"""
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from typing import List, Optional

def _postgres_bin() -> str:
    """The newest PostgreSQL Debian installed (/usr/lib/postgresql/<major>/bin)."""
    found = glob.glob("/usr/lib/postgresql/*/bin")
    return max(found, key=lambda path: int(path.split("/")[-2])) if found else "/usr/lib/postgresql/15/bin"


POSTGRES_BIN = _postgres_bin()
NOBODY_UID = 65534
NOBODY_GID = 65534


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_unprivileged(argv: List[str]) -> List[str]:
    """``argv`` run as nobody when we are root, unchanged otherwise."""
    if os.geteuid() != 0:
        return argv
    return ["setpriv", "--reuid=%d" % NOBODY_UID, "--regid=%d" % NOBODY_GID,
            "--clear-groups", "--"] + argv


def _wait_for_port(port: int, process: subprocess.Popen, timeout: float, name: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("%s exited with %s before listening" % (name, process.returncode))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("%s did not listen on %d within %ss" % (name, port, timeout))


class Server:
    """A server process on 127.0.0.1:``port`` with its data under ``tmp``."""

    name = "server"
    start_timeout = 60.0

    def __init__(self) -> None:
        self.port = free_port()
        self.host = "127.0.0.1"
        self.tmp = tempfile.mkdtemp(prefix="ctrace-%s-" % self.name)
        self.process: Optional[subprocess.Popen] = None
        self.log_path = os.path.join(self.tmp, "server.log")

    def _command(self) -> List[str]:
        raise NotImplementedError

    def _prepare(self) -> None:
        """Creates the data directory (before the process starts)."""

    def _ready(self) -> None:
        """Waits until the server answers, and sets it up for the tests."""
        _wait_for_port(self.port, self.process, self.start_timeout, self.name)

    def _chown_tmp(self) -> None:
        if os.geteuid() == 0:
            for root, dirs, files in os.walk(self.tmp):
                for entry in [root] + [os.path.join(root, f) for f in dirs + files]:
                    os.chown(entry, NOBODY_UID, NOBODY_GID)

    def start(self) -> "Server":
        try:
            self._prepare()
            self._chown_tmp()
            log = open(self.log_path, "ab")
            self.process = subprocess.Popen(self._command(), stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True)
            log.close()
            self._ready()
        except Exception as e:
            self.stop()
            raise RuntimeError("%s failed to start: %s\n%s" % (self.name, e, self.log())) from e
        return self

    def log(self) -> str:
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> "Server":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class PostgresServer(Server):
    """PostgreSQL 15 with user ``postgres`` (trust authentication) and a
    database ``test``."""

    name = "postgres"
    user = "postgres"
    password = "postgres"
    dbname = "test"

    @property
    def data(self) -> str:
        return os.path.join(self.tmp, "data")

    def _prepare(self) -> None:
        self._chown_tmp()
        subprocess.run(_as_unprivileged([
            os.path.join(POSTGRES_BIN, "initdb"), "-D", self.data, "-U", self.user,
            "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"]),
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def _command(self) -> List[str]:
        # fsync off: the data is thrown away at the end
        return _as_unprivileged([
            os.path.join(POSTGRES_BIN, "postgres"), "-D", self.data, "-p", str(self.port),
            "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=" + self.tmp,
            "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"])

    def _ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        while True:
            probe = subprocess.run([os.path.join(POSTGRES_BIN, "pg_isready"), "-q", "-h", self.host,
                                    "-p", str(self.port)])
            if probe.returncode == 0:
                break
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("postgres is not ready")
            time.sleep(0.1)
        self.psql("CREATE DATABASE %s" % self.dbname, dbname="postgres")

    def psql(self, sql: str, dbname: Optional[str] = None) -> str:
        done = subprocess.run([os.path.join(POSTGRES_BIN, "psql"), "-X", "-q", "-At", "-h", self.host,
                               "-p", str(self.port), "-U", self.user, "-d", dbname or self.dbname,
                               "-v", "ON_ERROR_STOP=1", "-c", sql],
                              check=True, capture_output=True, text=True)
        return done.stdout

    @property
    def dsn(self) -> str:
        return "host=%s port=%d user=%s dbname=%s" % (self.host, self.port, self.user, self.dbname)


class MariaDBServer(Server):
    """MariaDB with user ``test`` (password ``test``) owning a database ``test``."""

    name = "mariadb"
    user = "test"
    password = "test"
    dbname = "test"
    start_timeout = 90.0

    @property
    def data(self) -> str:
        return os.path.join(self.tmp, "data")

    @property
    def socket_path(self) -> str:
        return os.path.join(self.tmp, "mysqld.sock")

    def _user_args(self) -> List[str]:
        return ["--user=nobody"] if os.geteuid() == 0 else []

    def _prepare(self) -> None:
        os.mkdir(self.data)
        self._chown_tmp()
        subprocess.run(["mariadb-install-db", "--no-defaults", "--datadir=" + self.data,
                        "--auth-root-authentication-method=normal", "--skip-test-db",
                        "--skip-name-resolve"] + self._user_args(),
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def _command(self) -> List[str]:
        return ["mariadbd", "--no-defaults", "--datadir=" + self.data, "--port=%d" % self.port,
                "--bind-address=127.0.0.1", "--socket=" + self.socket_path,
                "--pid-file=" + os.path.join(self.tmp, "mysqld.pid"), "--skip-name-resolve",
                "--innodb-flush-log-at-trx-commit=0", "--innodb-buffer-pool-size=16M",
                "--skip-log-bin", "--performance-schema=OFF"] + self._user_args()

    def _ready(self) -> None:
        super()._ready()
        self.sql("CREATE DATABASE {db}; CREATE USER '{u}'@'%' IDENTIFIED BY '{p}';"
                 " GRANT ALL ON {db}.* TO '{u}'@'%';".format(db=self.dbname, u=self.user,
                                                              p=self.password))

    def sql(self, statements: str) -> str:
        done = subprocess.run(["mariadb", "--no-defaults", "-uroot", "-S", self.socket_path,
                               "-N", "-B", "-e", statements],
                              check=True, capture_output=True, text=True)
        return done.stdout


class RedisServer(Server):
    """Redis with no persistence."""

    name = "redis"

    def _command(self) -> List[str]:
        return _as_unprivileged([
            "redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", self.tmp, "--protected-mode", "no"])

    @property
    def url(self) -> str:
        return "redis://%s:%d/0" % (self.host, self.port)


class RedisClusterNode(RedisServer):
    """One master of a Redis Cluster; its cluster bus on a free port of its
    own (the default, port + 10000, may be taken or past 65535)."""

    name = "redis-cluster"

    def __init__(self) -> None:
        super().__init__()
        self.bus_port = free_port()

    def _command(self) -> List[str]:
        return super()._command() + [
            "--cluster-enabled", "yes", "--cluster-port", str(self.bus_port),
            "--cluster-config-file", os.path.join(self.tmp, "nodes.conf"), "--cluster-node-timeout", "5000"]


class RedisCluster:
    """A Redis Cluster of three masters on loopback, the slots split among
    them by ``redis-cli --cluster create``; ``port`` is the first node's
    (what a client starts from)."""

    name = "redis-cluster"
    start_timeout = 60.0

    def __init__(self) -> None:
        self.nodes = [RedisClusterNode() for _ in range(3)]
        self.host = "127.0.0.1"
        self.port = self.nodes[0].port

    def start(self) -> "RedisCluster":
        try:
            for node in self.nodes:
                node.start()
            subprocess.run(["redis-cli", "--cluster", "create"] +
                           ["127.0.0.1:%d" % node.port for node in self.nodes] +
                           ["--cluster-replicas", "0", "--cluster-yes"],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)
            self._wait_until_ok()
        except Exception:
            self.stop()
            raise
        return self

    def _wait_until_ok(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            states = [subprocess.run(["redis-cli", "-p", str(node.port), "cluster", "info"],
                                     capture_output=True, text=True).stdout for node in self.nodes]
            if all("cluster_state:ok" in state for state in states):
                return
            time.sleep(0.2)
        raise RuntimeError("the Redis Cluster did not reach cluster_state:ok within %ss" % self.start_timeout)

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def __enter__(self) -> "RedisCluster":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class MemcachedServer(Server):
    """memcached, 64 MiB, TCP only."""

    name = "memcached"

    def _command(self) -> List[str]:
        user = ["-u", "nobody"] if os.geteuid() == 0 else []
        return ["memcached", "-p", str(self.port), "-l", "127.0.0.1", "-U", "0", "-m", "64"] + user
