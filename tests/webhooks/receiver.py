"""A webhook receiver on 127.0.0.1 for the delivery tests: records every request and answers
with the statuses it is told to (the last one repeats). A stalled answer waits on ``release``
(set at teardown), never on a timer."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[dict] = []
        self.statuses = [200]
        self.stall = False
        self.release = threading.Event()
        self.port = self.server_address[1]

    def url(self, path="/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def handle_error(self, request, client_address):
        pass  # the sender hangs up on a stalled answer on purpose

    def start(self):
        threading.Thread(target=self.serve_forever, args=(0.02,), daemon=True).start()
        return self

    def stop(self):
        self.release.set()
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        server = self.server
        server.requests.append({"headers": dict(self.headers), "body": body})
        if server.stall:
            server.release.wait()
            return
        status = server.statuses.pop(0) if len(server.statuses) > 1 else server.statuses[0]
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
