"""pymemcache against the memcached of CT_MEMCACHED_PORT: single and multi
commands, counters, a hash client, a client error; "pooled": HashClients
with use_pooling, one of their servers down; "failures": server down
and a read timeout (CT_MUTE_PORT: a server that accepts and never answers). Reports what
the app saw."""
import os
import socket
import sys

from pymemcache.client import hash as hash_client
from pymemcache.client.base import Client

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
    h = hash_client.HashClient([("127.0.0.1", PORT)])
    h.set("hk", "hv")
    seen.append(h.get("hk"))
    c.close()


def pooled():
    """HashClients with use_pooling: one server, then two with one down."""
    h = hash_client.HashClient([("127.0.0.1", PORT)], use_pooling=True)
    h.set("pk", "pv")
    seen.append(h.get("pk"))
    seen.append(h.get("missing", default="d"))
    seen.append(h.delete("pk"))
    seen.append(sorted(h.get_many(["pk", "nope"]).items()))
    two = hash_client.HashClient([("127.0.0.1", PORT), ("127.0.0.1", int(os.environ["CT_DOWN_PORT"]))],
                                 use_pooling=True, ignore_exc=True, connect_timeout=1)
    seen.append([two.get("key%d" % i) for i in range(4)])


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
    {"failures": failures, "pooled": pooled}.get(sys.argv[1] if sys.argv[1:] else "", run)()
report(seen)
