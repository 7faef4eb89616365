#!/usr/bin/env python3
"""Beacon over TLS end to end (run by tls.sh).

Prints one `ok N - ...` or `not ok N - ...` line per check and exits non-zero when any failed.
Needs curl, openssl, etcd and $BEACON_BIN (default .build/release/beacon); installs nothing.
"""
import os, shutil, signal, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "Cluster"))
from clusterlib import Processes, Report, addresses, free_port, wait_until  # noqa: E402
import tls_etcd, tls_limits  # noqa: E402

ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))


def curl(*args, timeout=5):
    """(exit status, stdout, stderr) of `curl -sS ARGS`."""
    result = subprocess.run(["curl", "-sS", "-m", str(timeout), *args], capture_output=True, text=True)
    return result.returncode, result.stdout, result.stderr


class Beacon:
    """`beacon serve` on free loopback ports, with `extra` flags."""

    def __init__(self, procs, name, binary, certs, extra):
        self.procs, self.name, self.certs = procs, name, certs
        self.dns, self.port = free_port(), free_port()
        self.process = procs.start(name, [binary, "serve", "--in-memory", "--dns", f"127.0.0.1:{self.dns}",
                                          "--http", f"127.0.0.1:{self.port}", *extra])

    def wait_up(self, timeout=10):
        return wait_until(lambda: tls_limits.can_connect(self.port), timeout) is not None

    def url(self, path):
        return f"https://127.0.0.1:{self.port}{path}"

    def curl(self, path, *args, identity="client", method="GET", body=None):
        """curl over HTTPS, trusting the test CA and presenting `identity` (None: no certificate)."""
        arguments = ["--cacert", f"{self.certs}/ca.pem", "-X", method, "-w", "\n%{http_code}"]
        if identity:
            arguments += ["--cert", f"{self.certs}/{identity}.pem", "--key", f"{self.certs}/{identity}.key"]
        if body is not None:
            arguments += ["-d", body]
        status, out, err = curl(*arguments, *args, self.url(path))
        code = int(out.rsplit("\n", 1)[-1]) if status == 0 and out else 0
        return status, code, out.rsplit("\n", 1)[0], err

    def metric(self, name, identity="client"):
        _, _, text, _ = self.curl("/metrics", identity=identity)
        for line in text.splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        return None


def registration(service, function, instance, address, port=8080):
    return (f'{{"service":"{service}","function":"{function}","id":"{instance}",'
            f'"address":"{address}","port":{port}}}')


def side_channel(report, procs, binary, certs):
    """HTTPS with a server certificate only: curl and openssl s_client as the oracles."""
    beacon = Beacon(procs, "https", binary, certs, ["--tls-cert", f"{certs}/server.pem", "--tls-key", f"{certs}/server.key"])
    report.check(beacon.wait_up(), "beacon serve --tls-cert --tls-key starts")
    status, code, body, err = beacon.curl("/healthz", identity=None)
    report.check(status == 0 and code == 200 and '"ok"' in body, "curl over HTTPS, verified by the CA: 200", err)
    status, code, _, err = beacon.curl("/v1/register", identity=None, method="POST",
                                       body=registration("orders", "create", "web-1", "10.0.0.5"))
    report.check(code == 200 and addresses(beacon.dns, "create.orders.local") == {"10.0.0.5"},
                 "a registration over HTTPS is in DNS", err)
    status, _, err = curl("--cacert", f"{certs}/other-ca.pem", beacon.url("/healthz"))
    report.check(status == 60, "curl trusting another CA refuses the server (exit 60)", f"{status} {err}")
    status, _, err = curl("--cacert", f"{certs}/ca.pem", f"https://localhost:{beacon.port}/healthz")
    report.check(status == 0, "the certificate's DNS name (localhost) verifies too", err)
    report.check(tls_limits.plain_http_gets_clean_close(beacon.port),
                 "plain HTTP to the TLS port: the connection ends with EOF, no reset, no HTTP reply")

    def s_client(*args, stdin=""):
        result = subprocess.run(["timeout", "5", "openssl", "s_client", "-connect", f"127.0.0.1:{beacon.port}",
                                 "-CAfile", f"{certs}/ca.pem", *args], input=stdin, capture_output=True, text=True)
        return result.stdout + result.stderr

    text = s_client("-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0")
    report.check("alert protocol version" in text, "TLS 1.1 is refused (protocol_version alert)", text[-300:])
    text = s_client("-tls1_2")
    report.check("Cipher is ECDHE-ECDSA-AES128-GCM-SHA256" in text, "TLS 1.2 works, with an ECDHE AEAD suite", text[-300:])
    text = s_client("-tls1_3")
    report.check("TLSv1.3" in text and "Verify return code: 0 (ok)" in text, "TLS 1.3 works", text[-300:])
    text = s_client("-tls1_2", "-cipher", "AES128-SHA:DES-CBC3-SHA")
    report.check("alert handshake failure" in text, "CBC and static-RSA suites are refused", text[-300:])
    text = s_client("-tls1_2", stdin="R\n")
    report.check("RENEGOTIATING" in text and "no renegotiation" in text, "renegotiation is refused", text[-300:])
    text = s_client("-alpn", "h2")
    report.check("no application protocol" in text, "ALPN without http/1.1 is refused (no_application_protocol)", text[-300:])
    text = s_client("-alpn", "h2,http/1.1")
    report.check("ALPN protocol: http/1.1" in text, "ALPN picks http/1.1", text[-300:])

    expired = Beacon(procs, "https-expired", binary, certs,
                     ["--tls-cert", f"{certs}/server-expired.pem", "--tls-key", f"{certs}/server-expired.key"])
    expired.wait_up()
    status, _, err = curl("--cacert", f"{certs}/ca.pem", expired.url("/healthz"))
    report.check(status == 60 and "expired" in err, "curl refuses an expired server certificate", f"{status} {err}")
    procs.signal("https-expired", signal.SIGTERM)
    procs.signal("https", signal.SIGTERM)


def client_certificates(report, procs, binary, certs, workdir):
    """--tls-client-ca with a token file: certificates required, checked, and scoped by cert: lines."""
    tokens = os.path.join(workdir, "tokens")
    with open(tokens, "w") as f:
        f.write("# certificates by CN or subjectAltName\ncert:orders-client orders\nadmin-token-1234\n")
    beacon = Beacon(procs, "mtls", binary, certs, [
        "--tls-cert", f"{certs}/server.pem", "--tls-key", f"{certs}/server.key",
        "--tls-client-ca", f"{certs}/ca.pem", "--token-file", tokens])
    report.check(beacon.wait_up(), "beacon serve --tls-client-ca --token-file starts")
    status, code, _, err = beacon.curl("/healthz", identity=None)
    report.check(status != 0, "a client without a certificate is refused", f"curl {status} {err}")
    status, code, _, err = beacon.curl("/healthz", identity="client")
    report.check(code == 200, "a client with a certificate from the CA is served", err)
    for identity, what in (("client-expired", "an expired"), ("client-other", "another CA's")):
        status, code, _, err = beacon.curl("/healthz", identity=identity)
        report.check(status != 0, f"{what} client certificate is refused", f"curl {status} {err}")
    _, code, _, _ = beacon.curl("/v1/register", identity="client", method="POST",
                                body=registration("orders", "create", "web-2", "10.0.0.6"))
    report.check(code == 200, "CN orders-client, listed as cert:orders-client orders, registers in orders")
    _, code, _, _ = beacon.curl("/v1/register", identity="client", method="POST",
                                body=registration("payments", "pay", "pay-1", "10.0.0.7"))
    report.check(code == 403, "... but not in payments (403)")
    _, code, _, _ = beacon.curl("/v1/register", identity="client-payments", method="POST",
                                body=registration("payments", "pay", "pay-1", "10.0.0.7"))
    report.check(code == 401, "a verified certificate the token file does not list gets 401")
    _, code, _, _ = beacon.curl("/v1/register", "-H", "Authorization: Bearer admin-token-1234", identity="client-payments",
                                method="POST", body=registration("payments", "pay", "pay-1", "10.0.0.7"))
    report.check(code == 200, "a bearer token still works over a client-certificate connection")
    return beacon


def sidecar(report, procs, binary, certs, beacon):
    """beacon sidecar over HTTPS with a client certificate: registered while it runs, gone after."""
    procs.start("sidecar", [
        binary, "sidecar", "--server", f"https://127.0.0.1:{beacon.port}", "--ca", f"{certs}/ca.pem",
        "--cert", f"{certs}/client.pem", "--key", f"{certs}/client.key", "--service", "orders", "--function", "get",
        "--address", "10.0.0.9", "--port", "9", "--ttl", "5", "--interval", "1", "--drain-max", "0", "--", "sleep", "60"])
    name = "get.orders.local"
    took = wait_until(lambda: addresses(beacon.dns, name) == {"10.0.0.9"}, 10)
    report.check(took is not None, "the sidecar registers over HTTPS with its client certificate",
                 procs.log_tail("sidecar"))
    time.sleep(2.5)
    report.check(addresses(beacon.dns, name) == {"10.0.0.9"}, "... and heartbeats (still there after half its TTL)")
    procs.signal("sidecar", signal.SIGTERM)
    report.check(addresses(beacon.dns, name) == set(), "SIGTERM deregisters it over HTTPS", procs.log_tail("sidecar"))


def main():
    binary = os.environ.get("BEACON_BIN", os.path.join(ROOT, ".build/release/beacon"))
    workdir = tempfile.mkdtemp(prefix="beacon-tls-")
    certs = os.path.join(workdir, "certs")
    subprocess.run(["bash", os.path.join(HERE, "tls-certs.sh"), certs], check=True)
    procs = Processes(workdir)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    report = Report()
    try:
        side_channel(report, procs, binary, certs)
        beacon = client_certificates(report, procs, binary, certs, workdir)
        sidecar(report, procs, binary, certs, beacon)
        procs.signal("mtls", signal.SIGTERM)
        tls_limits.run(report, procs, binary, certs, Beacon)
        tls_limits.idle_connections(report, procs, binary, certs, Beacon)
        tls_etcd.run(report, procs, binary, certs, workdir)
    finally:
        procs.stop_all()
    summary = f"# {report.count - report.failed}/{report.count} passed in {time.time() - report.started:.1f}s"
    if report.failed:
        print(f"{summary}; logs in {workdir}")
        return 1
    shutil.rmtree(workdir, ignore_errors=True)  # etcd's data directories hold about 60 MiB each
    print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
