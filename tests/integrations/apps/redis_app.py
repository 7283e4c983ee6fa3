"""redis-py the ways ddtrace traces it: commands, a pipeline, a transaction,
the asyncio client and its pipeline, a failing command, against the Redis of
CT_REDIS_PORT; "cluster": the Redis Cluster clients (sync and asyncio).
Prints what the app saw."""
import asyncio
import os
import sys

import redis
import redis.asyncio
from redis.backoff import NoBackoff
from redis.retry import Retry

from ddtrace import tracer
from seen import failure, report

PORT = int(os.environ["CT_REDIS_PORT"])
seen = []



def run_sync():
    r = redis.Redis(host="127.0.0.1", port=PORT, db=0, client_name="app")
    r.set("k", "v" * 150)
    seen.append(r.get("k") is not None)
    seen.append(r.get("missing"))
    r.hset("h", mapping={"a": 1, "b": 2})
    seen.append(sorted(r.hgetall("h")))
    r.mset({"m1": 1, "m2": 2})
    seen.append(r.mget("m1", "m2", "nope"))
    with r.pipeline() as p:
        p.set("p1", 1).incr("p1").get("p1")
        seen.append(p.execute())
    with r.pipeline(transaction=False) as p:
        p.lpush("l", 1, 2, 3).lrange("l", 0, -1)
        seen.append(len(p.execute()))
    try:
        r.incr("k")
    except Exception as e:
        seen.append(failure(e))
    r.close()


async def run_async():
    r = redis.asyncio.Redis(host="127.0.0.1", port=PORT, db=1)
    await r.set("ak", "1")
    seen.append(await r.get("ak"))
    async with r.pipeline() as p:
        p.incr("ak").get("ak")
        seen.append(await p.execute())
    try:
        await r.lpush("ak", 1)
    except Exception as e:
        seen.append(failure(e))
    await r.aclose()


def failures():
    """Server down, a read timeout, a connection the server killed."""
    no_retry = Retry(NoBackoff(), 0)    # one try: the failure itself, quickly
    down = redis.Redis(host="127.0.0.1", port=int(os.environ["CT_DOWN_PORT"]), socket_connect_timeout=2,
                       retry=no_retry)
    try:
        down.get("k")
    except Exception as e:
        seen.append(failure(e))
    slow = redis.Redis(host="127.0.0.1", port=PORT, socket_timeout=0.1, retry=no_retry)
    try:
        slow.blpop(["never"], timeout=1)
    except Exception as e:
        seen.append(failure(e))
    r = redis.Redis(host="127.0.0.1", port=PORT)
    r.ping()
    # every other connection of the default user: only r's, here (ids and
    # addresses differ from run to run, the command must not)
    redis.Redis(host="127.0.0.1", port=PORT).client_kill_filter(user="default", skipme=True)
    seen.append(r.get("k") is not None)   # redis-py reconnects and retries


def run_cluster():
    """A Redis Cluster (CT_REDIS_PORT one of its nodes): commands on keys of
    different slots, a multi-key command, a pipeline, a failing command,
    then the asyncio cluster client."""
    from redis.cluster import RedisCluster
    rc = RedisCluster(host="127.0.0.1", port=PORT)
    rc.delete("{t}1", "{t}2")       # what an earlier run left
    for key in ("a", "b", "c"):
        rc.set(key, key.upper())
    seen.append([rc.get(key) for key in ("a", "b", "c", "missing")])
    seen.append(rc.mget("{t}1", "{t}2"))
    pipe = rc.pipeline()
    pipe.set("{t}1", "x")
    pipe.set("{t}n", 0)
    pipe.incr("{t}n")
    seen.append(pipe.execute())
    try:
        rc.incr("a")
    except Exception as e:
        seen.append(failure(e))
    rc.close()
    asyncio.run(run_async_cluster())


async def run_async_cluster():
    from redis.asyncio.cluster import RedisCluster
    rc = RedisCluster(host="127.0.0.1", port=PORT)
    await rc.set("aa", "1")
    seen.append(await rc.get("aa"))
    pipe = rc.pipeline()
    pipe.set("{t}2", "y")
    pipe.get("{t}2")
    seen.append(await pipe.execute())
    await rc.aclose()


with tracer.trace("app.redis"):
    if sys.argv[1:] == ["failures"]:
        failures()
    elif sys.argv[1:] == ["cluster"]:
        run_cluster()
    else:
        run_sync()
        asyncio.run(run_async())
report(seen)
