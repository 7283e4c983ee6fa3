"""Command arguments of a cache client (Redis, memcached) as the one
string ddtrace tags (``redis.raw_command``): each argument as text (bytes
decoded with backslash escapes), one longer than 100 characters cut with
``...``, the whole cut at ``max_length`` (1,000) with ``...``; an argument
that cannot be shown ends it with ``?``."""
from typing import Any, Iterable, List

VALUE_MAX_LEN = 100
CMD_MAX_LEN = 1000
TOO_LONG_MARK = "..."
PLACEHOLDER = "?"


def stringify_cache_args(args: Iterable[Any], value_max_len: int = VALUE_MAX_LEN,
                         cmd_max_len: int = CMD_MAX_LEN) -> str:
    # Nearly every command is a few short str arguments ("GET", "user:7"):
    # then one join is the answer (no argument can be over the limits when
    # the whole text is within both), a quarter of the loop's cost.
    if args.__class__ is tuple:     # (an iterator would be used up)
        try:
            text = " ".join(args)
        except TypeError:           # bytes, numbers... among them: the loop
            pass
        else:
            if len(text) <= value_max_len and len(text) <= cmd_max_len:
                return text
    length = 0
    out: List[str] = []
    for arg in args:
        try:
            if isinstance(arg, bytes):
                text = arg.decode("utf-8", errors="backslashreplace")
            elif isinstance(arg, str):
                text = arg
            else:
                text = str(arg)
            if len(text) > value_max_len:
                text = text[:value_max_len] + TOO_LONG_MARK
            if length + len(text) > cmd_max_len:
                out.append(text[:cmd_max_len - length] + TOO_LONG_MARK)
                break
            out.append(text)
            length += len(text)
        except Exception:
            out.append(PLACEHOLDER)
            break
    return " ".join(out)
