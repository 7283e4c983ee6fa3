"""A small shop: a nested business operation, threads, asyncio and an error.

Run with the agent up (`make demo` does it) and open the UI to see each
request as a trace: checkout -> inventory / payment (in a thread) ->
shipping quotes fetched concurrently with asyncio, and one failing order.
"""
import asyncio
import random
import threading
import time

from ddtrace import tracer


class PaymentDeclined(Exception):
    pass


@tracer.wrap(service="inventory", resource="reserve")
def reserve_items(items):
    with tracer.trace("db.query", service="inventory-db", resource="UPDATE stock", span_type="sql") as span:
        span.set_tag("db.rows", len(items))
        time.sleep(0.001 * len(items))


def charge(order_id, amount, results):
    # A thread starts with no active span: continue the trace explicitly.
    with tracer.start_span("payment.charge", child_of=results["parent"], service="payments",
                           resource="POST /charge", span_type="http", activate=True) as span:
        span.set_tag("order.id", order_id)
        span.set_tag("amount", amount)
        time.sleep(0.003)
        if amount > 900:
            results["error"] = PaymentDeclined("card declined for order %s" % order_id)
            raise results["error"]


async def quote(carrier):
    with tracer.trace("shipping.quote", service="shipping", resource=carrier):
        await asyncio.sleep(random.uniform(0.001, 0.004))
        return random.randint(5, 20)


@tracer.wrap(service="shipping", resource="quotes")
async def best_quote():
    quotes = await asyncio.gather(*(quote(c) for c in ("ups", "dhl", "fedex")))
    return min(quotes)


def checkout(order_id, amount):
    with tracer.trace("checkout", service="shop", resource="POST /checkout", span_type="web") as root:
        root.set_tag("order.id", order_id)
        reserve_items(["book", "pen"])
        results = {"parent": root}
        worker = threading.Thread(target=lambda: _safe(charge, order_id, amount, results))
        worker.start()
        worker.join()
        if "error" in results:
            raise results["error"]
        root.set_tag("shipping.cost", asyncio.run(best_quote()))


def _safe(f, *args):
    try:
        f(*args)
    except PaymentDeclined:
        pass  # recorded on the payment span by its context manager


for order_id, amount in [(1, 120), (2, 45), (3, 990), (4, 300)]:
    try:
        checkout(order_id, amount)
    except PaymentDeclined:
        pass  # recorded on the checkout span as an error too
tracer.flush()
