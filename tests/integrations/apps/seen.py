"""What a test app saw (results, exceptions), written where the test
reads it (CT_APP_OUTPUT), so runs untraced, under ddtrace and under
ctrace can be compared: tracing must not change what the app sees."""
import json
import os
import sys


def failure(e):
    """An exception as the app sees it: its class and message."""
    return [type(e).__module__, type(e).__name__, str(e).strip()]


def report(seen):
    text = json.dumps(seen, default=repr)
    path = os.environ.get("CT_APP_OUTPUT")
    if path:
        with open(path, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text + "\n")
