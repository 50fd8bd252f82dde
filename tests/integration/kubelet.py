"""A test kubelet: an HTTPS server that answers GET /pods with a PodList file, checks the bearer
token like the real kubelet (401 without the right one), and can be told to misbehave.

Certificates are made at test time with the openssl CLI: a CA, and a server certificate for
127.0.0.1 signed by it, so the agent verifies the chain as it would in a cluster.
"""
import http.server
import os
import ssl
import subprocess
import threading
import time


def make_ca_and_cert(workdir, name="kubelet"):
    """Returns (ca_file, cert_file, key_file)."""
    ca_key = os.path.join(workdir, f"{name}-ca.key")
    ca_crt = os.path.join(workdir, f"{name}-ca.crt")
    key = os.path.join(workdir, f"{name}.key")
    csr = os.path.join(workdir, f"{name}.csr")
    crt = os.path.join(workdir, f"{name}.crt")
    ext = os.path.join(workdir, f"{name}.ext")
    run = lambda *a: subprocess.run(a, check=True, capture_output=True)
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca_crt,
        "-days", "1", "-subj", f"/CN={name}-test-ca")
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
        "-subj", "/CN=127.0.0.1")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    run("openssl", "x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key, "-CAcreateserial",
        "-out", crt, "-days", "1", "-extfile", ext)
    return ca_crt, crt, key


class TestKubelet:
    """mode: "ok" | "status:<code>" | "garbage" | "truncated" | "slow:<seconds>" | "huge"."""

    def __init__(self, workdir, pods_file, token):
        self.pods_file = pods_file
        self.token = token
        self.mode = "ok"
        self.requests = 0
        self.bad_tokens = 0
        self.ca_file, cert, key = make_ca_and_cert(workdir)
        kubelet = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def send(self, code, body, ctype="application/json"):
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                kubelet.requests += 1
                if self.path != "/pods":
                    return self.send(404, b"404 page not found\n", "text/plain")
                if self.headers.get("Authorization") != "Bearer " + kubelet.token:
                    kubelet.bad_tokens += 1
                    return self.send(401, b"Unauthorized\n", "text/plain")
                mode = kubelet.mode
                with open(kubelet.pods_file, "rb") as f:
                    body = f.read()
                if mode.startswith("status:"):
                    return self.send(int(mode[7:]), b'{"kind":"Status","status":"Failure"}')
                if mode == "garbage":
                    return self.send(200, b"\x00\xffnot json at all<html>")
                if mode == "truncated":
                    return self.send(200, body[: len(body) // 2])
                if mode == "huge":
                    return self.send(200, b"[" * (8 << 20))
                if mode.startswith("slow:"):
                    time.sleep(float(mode[5:]))
                self.send(200, body)

        class Server(http.server.ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                pass  # clients that hang up mid-body (size limits, timeouts) are the point here

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.url = f"https://127.0.0.1:{self.port}/pods"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def agent_config(self, token_file, node_name):
        """The agent's `kubernetes:` config block for this kubelet (kubelet mode, 1s refresh)."""
        return (f"kubernetes:\n  mode: kubelet\n  node_name: {node_name}\n"
                f"  kubelet_url: {self.url}\n  token_file: {token_file}\n"
                f"  ca_file: {self.ca_file}\n  refresh_interval: 1s")

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
