"""The active span per thread and per asyncio task; tasks created inside a
span are parented to it; spans finished on another thread or out of order."""
import asyncio
import threading

from tracer_helpers import span_named, take_spans, take_traces


def test_each_thread_sees_its_own_active_span(tracer):
    seen = {}
    barrier = threading.Barrier(4)

    def work(i):
        assert tracer.current_span() is None  # nothing inherited from main
        with tracer.trace("thread-%d" % i) as span:
            barrier.wait(timeout=5)
            seen[i] = tracer.current_span() is span
            barrier.wait(timeout=5)

    with tracer.trace("main") as main:
        threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert tracer.current_span() is main
    assert seen == {0: True, 1: True, 2: True, 3: True}
    traces = take_traces()
    assert len(traces) == 5  # each thread's root is its own trace


def test_a_span_finished_in_another_thread_completes_the_trace(tracer):
    root = tracer.trace("root")
    child = tracer.start_span("child", child_of=root)
    root.finish()
    t = threading.Thread(target=child.finish)
    t.start()
    t.join()
    traces = take_traces()
    assert len(traces) == 1 and sorted(s["name"] for s in traces[0]) == ["child", "root"]


def test_many_threads_finishing_children_of_one_root(tracer):
    root = tracer.start_span("root")
    children = [tracer.start_span("child", child_of=root) for _ in range(200)]

    def finish(chunk):
        for span in chunk:
            span.finish()

    threads = [threading.Thread(target=finish, args=(children[i::8],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert take_traces() == []
    root.finish()
    traces = take_traces()
    assert len(traces) == 1 and len(traces[0]) == 201


def test_out_of_order_finish_sends_once_with_the_root_first(tracer):
    root = tracer.trace("root")
    child = tracer.trace("child")
    grandchild = tracer.trace("grandchild")
    root.finish()
    child.finish()
    assert take_traces() == []
    grandchild.finish()
    traces = take_traces()
    assert len(traces) == 1
    trace = traces[0]
    assert trace[0]["name"] == "root"
    assert "_dd.p.tid" in trace[0]["meta"] and trace[0]["meta"]["language"] == "python"
    assert all("language" not in s["meta"] for s in trace[1:])
    assert span_named(trace, "grandchild")["parent_id"] == span_named(trace, "child")["span_id"]


def test_each_asyncio_task_sees_its_own_active_span(tracer):
    async def job(name):
        with tracer.trace(name) as span:
            await asyncio.sleep(0.01)
            assert tracer.current_span() is span
            await asyncio.sleep(0.01)
            return span

    async def main():
        return await asyncio.gather(job("a"), job("b"), job("c"))

    spans = asyncio.run(main())
    assert len({s.trace_id for s in spans}) == 3
    assert all(s.parent_id is None for s in spans)


def test_a_task_created_inside_a_span_is_parented_to_it(tracer):
    async def child_job():
        await asyncio.sleep(0.01)
        with tracer.trace("in-task") as span:
            return span

    async def main():
        with tracer.trace("outer") as outer:
            task = asyncio.create_task(child_job())
            inner = await task
        return outer, inner

    outer, inner = asyncio.run(main())
    assert inner.parent_id == outer.span_id
    assert inner.trace_id == outer.trace_id


def test_a_task_starting_a_span_after_its_parent_finished_starts_a_new_trace(tracer):
    # As ddtrace: active() skips finished spans, and the parent has no
    # unfinished ancestor (.venv-ddtrace 4.16 gives parent_id None too).
    async def slow_child(started):
        started.set()
        await asyncio.sleep(0.02)
        with tracer.trace("late-child") as span:
            return span

    async def main():
        started = asyncio.Event()
        with tracer.trace("parent") as parent:
            task = asyncio.create_task(slow_child(started))
            await started.wait()
        return parent, await task

    parent, child = asyncio.run(main())
    assert child.parent_id is None and child.trace_id != parent.trace_id
    assert {s["name"] for s in take_spans()} == {"parent", "late-child"}


def test_a_span_activated_in_a_task_does_not_leak_into_its_creator(tracer):
    async def activates():
        tracer.trace("task-span")  # never finished here
        return tracer.current_span()

    async def main():
        with tracer.trace("outer") as outer:
            in_task = await asyncio.create_task(activates())
            assert tracer.current_span() is outer
            in_task.finish()
        return in_task

    asyncio.run(main())


def test_thread_pool_work_does_not_inherit_the_active_span_unless_context_is_copied(tracer):
    import concurrent.futures
    import contextvars

    with tracer.trace("outer") as outer:
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            plain = pool.submit(tracer.current_span).result()
            ctx = contextvars.copy_context()
            copied = pool.submit(ctx.run, tracer.current_span).result()
    assert plain is None
    assert copied is outer


def test_a_task_keeps_the_span_active_when_it_was_created(tracer):
    # asyncio copies the context at create_task: the task must see A even
    # if its creator activates B before the task runs (ddtrace 4.16: A).
    async def child():
        await asyncio.sleep(0.01)
        with tracer.trace("in-task") as span:
            return span

    async def main():
        with tracer.trace("A") as a:
            task = asyncio.create_task(child())
            with tracer.trace("B") as b:
                await asyncio.sleep(0.05)
                in_task = await task
        return a, b, in_task

    a, b, in_task = asyncio.run(main())
    assert in_task.parent_id == a.span_id, "parented to B, activated after the task was created"


def test_a_copied_context_does_not_see_later_activations_of_its_origin(tracer):
    import contextvars

    with tracer.trace("X") as x:
        ctx = contextvars.copy_context()
        with tracer.trace("Y"):
            assert ctx.run(tracer.current_span) is x


def test_activation_inside_a_copied_context_does_not_leak_out(tracer):
    import contextvars

    with tracer.trace("outer") as outer:
        ctx = contextvars.copy_context()
        inner = ctx.run(tracer.trace, "inner")
        assert tracer.current_span() is outer
        assert ctx.run(tracer.current_span) is inner
        inner.finish()


def test_a_forked_child_sends_neither_the_parents_traces_nor_repeats_its_ids(tracer):
    import os
    import json

    with tracer.trace("before-fork"):
        pass
    parent_ids = [tracer.start_span("p") for _ in range(5)]
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        try:
            from tracer_helpers import take_traces as take
            inherited = take(tracer)
            spans = [tracer.start_span("c") for _ in range(5)]
            ids = [s.span_id for s in spans]
            for s in spans:
                s.finish()
            mine = take(tracer)
            root = mine[0][0]
            os.write(write_fd, json.dumps([len(inherited), ids, len(mine),
                                           root["meta"].get("runtime-id"),
                                           root["metrics"].get("process_id"), os.getpid()]).encode())
        finally:
            os._exit(0)
    os.close(write_fd)
    data = b""
    while True:
        chunk = os.read(read_fd, 65536)
        if not chunk:
            break
        data += chunk
    os.close(read_fd)
    os.waitpid(pid, 0)
    inherited, child_ids, child_sent, child_runtime, child_pid_tag, child_pid = json.loads(data)
    assert inherited == 0
    assert child_sent == 5
    # the child's traces imply its own runtime-id and pid, not the parent's
    spans_now = take_spans()
    assert [s["name"] for s in spans_now].count("before-fork") == 1
    before = span_named(spans_now, "before-fork")
    assert child_runtime and len(child_runtime) == 32
    assert child_runtime != before["meta"]["runtime-id"]
    assert child_pid_tag == child_pid != before["metrics"]["process_id"] == os.getpid()
    more_parent_ids = [tracer.start_span("p2") for _ in range(5)]
    assert not set(child_ids) & {s.span_id for s in more_parent_ids}
    for s in parent_ids + more_parent_ids:
        s.finish()
    assert [s["name"] for s in take_spans()].count("before-fork") == 0  # taken above
