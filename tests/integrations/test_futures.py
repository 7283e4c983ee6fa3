"""Context across threads and tasks: work submitted to a
ThreadPoolExecutor (submit, map, run_in_executor) and asyncio tasks
(create_task, gather, an explicit context=) are children of the span that
was active where they were started, as under ddtrace; nothing leaks from
one job into the next."""
import differential
from async_helpers import comparable, spans_named

SCRIPT = r'''
import asyncio, contextvars
from concurrent.futures import ThreadPoolExecutor
from ddtrace import tracer

pool = ThreadPoolExecutor(2)

def work(n):
    with tracer.trace("pool.work", resource="work %d" % n):
        with tracer.trace("pool.inner"):
            return n

def untraced_probe(_):
    return tracer.current_span() is None

with tracer.trace("sync.root"):
    pool.submit(work, 1).result()
    pool.submit(work, n=2).result()
    list(pool.map(work, [3, 4]))
# a job submitted outside any span sees none: nothing left from the last one
assert all(pool.map(untraced_probe, range(4)))

async def child(n):
    with tracer.trace("task.child", resource="child %d" % n):
        await asyncio.sleep(0)

async def main():
    with tracer.trace("async.root"):
        await asyncio.create_task(child(1))
        await asyncio.gather(child(2), child(3))
        await asyncio.get_running_loop().create_task(child(4), context=contextvars.Context())
        await asyncio.get_running_loop().run_in_executor(pool, work, 5)
    await child(6)  # after the root: a trace of its own
asyncio.run(main())
'''

#: spans that start in a worker thread or a task given context=
HANDED_OVER = {"pool.work", "task.child"}


def test_thread_pool_and_asyncio_tasks_parent_as_ddtrace():
    theirs = differential.run_script("ddtrace", SCRIPT, rates={})
    ours = differential.run_script("ctrace", SCRIPT, rates={})
    differential.assert_same_trees(comparable(theirs, HANDED_OVER), comparable(ours, HANDED_OVER))
    roots = {s["span_id"]: s for s in spans_named(ours, "sync.root") + spans_named(ours, "async.root")}
    for span in spans_named(ours, "pool.work"):
        assert span["parent_id"] in roots
    lone, = [s for s in spans_named(ours, "task.child") if s["resource"] == "child 6"]
    assert lone["parent_id"] in (0, None)


def test_thread_pool_without_the_patch_loses_the_parent():
    """The patch is what carries the span: with it off, a worker's span is
    a root of its own (the control for the test above)."""
    ours = differential.run_script("ctrace", SCRIPT, env={"DD_TRACE_FUTURES_ENABLED": "false"}, rates={})
    assert all(s["parent_id"] in (0, None) for s in spans_named(ours, "pool.work"))
