"""WSGI has no library to patch: ``DDWSGIMiddleware`` is applied by hand.
The folder makes ``ddtrace.patch(wsgi=True)`` a no-op, as in ddtrace."""


def get_version() -> str:
    return ""


def patch() -> None:
    pass


def unpatch() -> None:
    pass
