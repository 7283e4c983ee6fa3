"""Concurrency stress: the tracer under many threads, many asyncio tasks,
spans finished on other threads, fork() from several threads while spans
are open, and shutdown() racing with new spans.

Each scenario runs in a fresh interpreter under a hard timeout, so a
deadlock fails the test (with the child's stack dumped by faulthandler)
instead of hanging the suite, and a crash fails it with the signal. The
child keeps traces in memory (_CT_IN_MEMORY_WRITER=1), takes them with
tracer._take_payload(4) and checks that every trace it finished arrives
exactly once: each local root carries a unique `stress.id` tag, and each
trace holds exactly the spans that were made for it.
"""
import textwrap

from tracer_helpers import run_script

PRELUDE = textwrap.dedent("""
    import asyncio, collections, faulthandler, os, queue, sys, threading, time
    import msgpack
    from ddtrace import tracer
    faulthandler.dump_traceback_later(%(hang)d, exit=True)   # a deadlock dumps every stack

    received = collections.Counter()
    spans_of = {}
    take_lock = threading.Lock()

    def take():
        with take_lock:
            payload, count = tracer._take_payload(4)
            traces = msgpack.unpackb(payload, raw=False, strict_map_key=False) if payload else []
            assert len(traces) == count, (len(traces), count)
            for trace in traces:
                ids = [s["meta"]["stress.id"] for s in trace if "stress.id" in s.get("meta", {})]
                assert len(ids) == 1, trace
                received[ids[0]] += 1
                spans_of[ids[0]] = sorted(s["name"] for s in trace)
                assert len({s["trace_id"] for s in trace}) == 1, trace

    def check(expected):
        duplicated = [k for k, n in received.items() if n > 1]
        missing = [k for k in expected if k not in received]
        unexpected = [k for k in received if k not in expected]
        assert not duplicated, "delivered twice: %%r" %% duplicated[:10]
        assert not missing, "%%d never delivered, e.g. %%r" %% (len(missing), missing[:10])
        assert not unexpected, "unexpected: %%r" %% unexpected[:10]
""")


def run(body, timeout=60, hang=45):
    proc = run_script(PRELUDE % {"hang": hang} + textwrap.dedent(body), timeout=timeout)
    assert proc.returncode == 0, "exit %d\n%s\n%s" % (proc.returncode, proc.stdout[-3000:],
                                                        proc.stderr[-6000:])
    return proc.stdout


def test_sixteen_threads_with_spans_finished_on_other_threads():
    out = run("""
        THREADS, TRACES = 16, 1500
        handoff = queue.Queue()
        expected = {}

        def finisher():
            while True:
                span = handoff.get()
                if span is None:
                    return
                span.set_tag("finished.by", threading.get_ident())
                span.finish()

        def worker(t):
            for i in range(TRACES):
                key = "t%d-%d" % (t, i)
                with tracer.trace("root", service="svc-%d" % (t % 4), resource=key) as root:
                    root.set_tag("stress.id", key)
                    root.set_metric("i", i)
                    with tracer.trace("child") as child:
                        child.set_tag("k", "v" * (i % 50))
                    # started here, finished by a finisher thread, maybe after the root
                    handoff.put(tracer.start_span("handed", child_of=root, activate=False))
                    if i % 7 == 0:
                        try:
                            with tracer.trace("failing"):
                                raise ValueError(key)
                        except ValueError:
                            pass
                expected[key] = sorted(["root", "child", "handed"] + (["failing"] if i % 7 == 0 else []))
                if i % 100 == 99:
                    take()

        finishers = [threading.Thread(target=finisher) for _ in range(4)]
        workers = [threading.Thread(target=worker, args=(t,)) for t in range(THREADS)]
        for th in finishers + workers:
            th.start()
        for th in workers:
            th.join()
        for _ in finishers:
            handoff.put(None)
        for th in finishers:
            th.join()
        take()
        check(expected)
        wrong = [k for k, names in expected.items() if spans_of[k] != names]
        assert not wrong, [(k, spans_of[k], expected[k]) for k in wrong[:5]]
        print("ok", len(received))
    """)
    assert "ok 24000" in out


def test_ten_thousand_asyncio_tasks_on_a_loop_and_threads():
    out = run("""
        TASKS = 10_000
        expected = set()

        async def task(i):
            key = "a%d" % i
            with tracer.trace("task", resource=key) as root:
                root.set_tag("stress.id", key)
                await asyncio.sleep(0)
                with tracer.trace("step") as step:
                    step.set_metric("i", i)
                    await asyncio.sleep(0)
                    assert tracer.current_span() is step
                assert tracer.current_span() is root
            expected.add(key)

        async def main():
            for start in range(0, TASKS, 2000):
                await asyncio.gather(*(task(i) for i in range(start, start + 2000)))
                take()

        # the loop in one thread while four other threads trace too
        other = set()
        def side(t):
            for i in range(300):
                key = "s%d-%d" % (t, i)
                with tracer.trace("side") as s:
                    s.set_tag("stress.id", key)
                    with tracer.trace("step"):
                        pass
                other.add(key)
        threads = [threading.Thread(target=side, args=(t,)) for t in range(4)]
        for th in threads:
            th.start()
        asyncio.run(main())
        for th in threads:
            th.join()
        take()
        check(expected | other)
        assert all(spans_of[k] == ["step", "task"] for k in expected)
        print("ok", len(received))
    """)
    assert "ok 11200" in out


def test_fork_from_several_threads_while_spans_are_open():
    out = run("""
        import warnings
        warnings.simplefilter("ignore", DeprecationWarning)   # 3.12: fork() with threads
        FORKERS, FORKS = 4, 10
        children, failures, expected = [], [], set()
        lock = threading.Lock()

        def busy(t, stop):
            i = 0
            while not stop.is_set():
                key = "b%d-%d" % (t, i)
                with tracer.trace("busy") as s:
                    s.set_tag("stress.id", key)
                    with tracer.trace("inner"):
                        pass
                with lock:
                    expected.add(key)
                i += 1
                if i % 500 == 0:
                    take()   # the in-memory buffer is capped: a fast machine fills it

        def forker(t):
            for n in range(FORKS):
                key = "f%d-%d" % (t, n)
                with tracer.trace("around-fork") as open_span:
                    open_span.set_tag("stress.id", key)
                    with tracer.trace("open-child"):
                        pid = os.fork()
                        if pid == 0:
                            # the child: tracing still works and sends only its own
                            code = 0
                            try:
                                tracer._take_payload(4)
                                with tracer.trace("in-child") as c:
                                    c.set_tag("stress.id", "child")
                                payload, count = tracer._take_payload(4)
                                traces = msgpack.unpackb(payload, raw=False) if payload else []
                                names = [s["name"] for t in traces for s in t]
                                code = 0 if names == ["in-child"] else 3
                            except BaseException:
                                import traceback; traceback.print_exc()
                                code = 4
                            os._exit(code)
                with lock:
                    children.append(pid)
                    expected.add(key)

        stop = threading.Event()
        busy_threads = [threading.Thread(target=busy, args=(t, stop)) for t in range(3)]
        forkers = [threading.Thread(target=forker, args=(t,)) for t in range(FORKERS)]
        for th in busy_threads + forkers:
            th.start()
        for th in forkers:
            th.join()
        stop.set()
        for th in busy_threads:
            th.join()
        deadline = time.time() + 20
        for pid in children:
            while True:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    break
                if time.time() > deadline:
                    os.kill(pid, 9)
                    failures.append((pid, "deadlocked"))
                    os.waitpid(pid, 0)
                    break
                time.sleep(0.01)
            if done and status != 0:
                failures.append((pid, status))
        assert not failures, failures
        take()
        assert tracer._stats()["traces_dropped"] == 0, tracer._stats()
        check(expected)
        print("ok", len(children), "children", len(received), "traces")
    """)
    assert "ok 40 children" in out


def test_shutdown_racing_with_new_spans_neither_crashes_nor_hangs():
    out = run("""
        finished_before = set()
        go = threading.Event()
        stop = threading.Event()

        def worker(t):
            go.wait()
            i = 0
            while not stop.is_set():
                with tracer.trace("racing") as s:
                    s.set_tag("stress.id", "r%d-%d" % (t, i))
                    s.set_tag("k", "v")
                    tracer.trace("child").finish()
                i += 1

        for i in range(500):   # these finish before shutdown starts
            with tracer.trace("before") as s:
                s.set_tag("stress.id", "before-%d" % i)
            finished_before.add("before-%d" % i)
        take()
        threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
        for th in threads:
            th.start()
        go.set()
        time.sleep(0.2)
        started = time.time()
        tracer.shutdown(timeout=5)
        took = time.time() - started
        time.sleep(0.2)                    # spans keep coming after shutdown
        stop.set()
        for th in threads:
            th.join(timeout=10)
            assert not th.is_alive(), "a worker hung after shutdown"
        tracer.shutdown(timeout=1)        # a second shutdown is a no-op
        with tracer.trace("after") as s:  # and tracing after it still works (not sent)
            s.set_tag("x", "y")
        try:
            take()
        except Exception as e:             # the writer may be gone: only no duplicates matter
            print("take after shutdown:", type(e).__name__, e)
        duplicated = [k for k, n in received.items() if n > 1]
        assert not duplicated, duplicated[:10]
        assert all(received[k] == 1 for k in finished_before)
        assert took < 6, took
        print("ok shutdown in %.2fs" % took)
    """)
    assert "ok shutdown" in out
