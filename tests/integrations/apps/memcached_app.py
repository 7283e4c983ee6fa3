"""pymemcache against the memcached of CT_MEMCACHED_PORT: single and multi
commands, counters, a hash client, a client error; "failures": server down
and a read timeout (CT_MUTE_PORT: a server that accepts and never answers). Reports what
the app saw."""
import os
import socket
import sys

from pymemcache.client.base import Client
from pymemcache.client.hash import HashClient

from ddtrace import tracer
from seen import failure, report

PORT = int(os.environ["CT_MEMCACHED_PORT"])
seen = []


def run():
    c = Client(("127.0.0.1", PORT))
    c.set("k", "v")
    seen.append(c.get("k"))
    seen.append(c.get("missing"))
    c.set_many({"a": "1", "b": "2"})
    seen.append(sorted(c.get_many(["a", "b", "nope"]).items()))
    seen.append(c.gets("k")[0])
    c.incr("a", 5)
    seen.append(c.delete("b"))
    try:
        c.set("key with spaces", "x")
    except Exception as e:
        seen.append(failure(e))
    h = HashClient([("127.0.0.1", PORT)])
    h.set("hk", "hv")
    seen.append(h.get("hk"))
    c.close()


def failures():
    down = Client(("127.0.0.1", int(os.environ["CT_DOWN_PORT"])), connect_timeout=1)
    try:
        down.get("k")
    except Exception as e:
        seen.append(failure(e))
    mute = socket.socket()
    mute.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    mute.bind(("127.0.0.1", int(os.environ["CT_MUTE_PORT"])))
    mute.listen(1)
    slow = Client(mute.getsockname(), timeout=0.1)
    try:
        slow.get("k")
    except Exception as e:
        seen.append([type(e).__module__, type(e).__name__])
    mute.close()


with tracer.trace("app.memcached"):
    failures() if sys.argv[1:] == ["failures"] else run()
report(seen)
