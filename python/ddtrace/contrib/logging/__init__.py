"""Log correlation for the standard library's ``logging`` (patched by
default): every record carries the active trace's ids; see ``ddtrace._logs``."""
