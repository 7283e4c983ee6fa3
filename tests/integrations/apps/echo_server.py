"""A plain (untraced) HTTP server for the client tests, in a thread of
the client's process: answers the request's headers as JSON; a path with
``fail`` answers 500, ``missing`` 404, ``/redirect`` 302 to ``/plain``."""
import http.server
import json
import threading


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("Location", "/plain")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        code = 500 if "fail" in self.path else (404 if "missing" in self.path else 200)
        body = json.dumps({k.lower(): v for k, v in self.headers.items()}).encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET


def start(port: int = 0) -> str:
    """Serves on 127.0.0.1:``port`` (a free one for 0); the base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return "http://127.0.0.1:%d" % server.server_address[1]
