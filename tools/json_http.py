"""A small threaded HTTP server that answers JSON, shared by the simulators'
control ports and the chain recorder's record port."""
import http.server
import json
import threading


def serve_json(host, port, handle, methods=("GET", "POST")):
    """Serves `handle(request, method, body) -> (status, answer)` on daemon threads
    and returns the server (`server.server_address[1]` is the port). `request` is
    the BaseHTTPRequestHandler (path, headers); `body` the raw bytes. An exception
    in `handle` becomes a 500 naming it, so a simulator bug shows instead of
    hanging a test."""

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall

        def log_message(self, *args):
            pass

        def answer(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            try:
                status, answer = handle(self, self.command, body)
            except Exception as error:
                status, answer = 500, {"error": f"{type(error).__name__}: {error}"}
            reply(self, status, answer)

    for method in methods:
        setattr(Handler, f"do_{method}", Handler.answer)
    server = http.server.ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def reply(handler, status, answer):
    data = json.dumps(answer).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)
