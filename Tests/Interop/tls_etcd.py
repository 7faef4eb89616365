"""etcd over TLS (part of tls_interop.py): a three-member cluster with client and peer TLS and client
certificates required, shared by two Beacon nodes through `--store etcds://`."""
import os, signal, subprocess, time

from clusterlib import BeaconNode, addresses, free_port, http, wait_until

NAME = "create.orders.local"


class TLSEtcdCluster:
    def __init__(self, procs, workdir, certs, size=3):
        self.procs, self.workdir, self.certs = procs, workdir, certs
        self.members = [(f"tls-e{i + 1}", free_port(), free_port()) for i in range(size)]

    def endpoints(self, hosts=None):
        hosts = hosts or ["127.0.0.1"] * len(self.members)
        return [f"{host}:{client}" for host, (_, client, _) in zip(hosts, self.members)]

    def start(self):
        initial = ",".join(f"{name}=https://127.0.0.1:{peer}" for name, _, peer in self.members)
        c = self.certs
        for name, client, peer in self.members:
            self.procs.start(name, [
                "etcd", "--name", name, "--data-dir", os.path.join(self.workdir, name),
                "--listen-client-urls", f"https://127.0.0.1:{client}", "--advertise-client-urls", f"https://127.0.0.1:{client}",
                "--listen-peer-urls", f"https://127.0.0.1:{peer}", "--initial-advertise-peer-urls", f"https://127.0.0.1:{peer}",
                "--initial-cluster", initial, "--initial-cluster-state", "new", "--initial-cluster-token", "beacon-tls-test",
                "--cert-file", f"{c}/server.pem", "--key-file", f"{c}/server.key", "--client-cert-auth",
                "--trusted-ca-file", f"{c}/ca.pem", "--peer-cert-file", f"{c}/server.pem", "--peer-key-file", f"{c}/server.key",
                "--peer-client-cert-auth", "--peer-trusted-ca-file", f"{c}/ca.pem"])

    def curl(self, index, path, identity="client"):
        _, client, _ = self.members[index]
        arguments = ["curl", "-sS", "-m", "3", "--cacert", f"{self.certs}/ca.pem"]
        if identity:
            arguments += ["--cert", f"{self.certs}/{identity}.pem", "--key", f"{self.certs}/{identity}.key"]
        result = subprocess.run(arguments + [f"https://127.0.0.1:{client}{path}"], capture_output=True, text=True)
        return result.returncode, result.stdout

    def healthy(self):
        return all('"health":"true"' in self.curl(index, "/health")[1] for index in range(len(self.members)))

    def stop(self):
        # All at once: a last member left alone waits for its peers before it exits.
        for name, _, _ in self.members:
            if self.procs.running(name):
                os.kill(self.procs.procs[name].pid, signal.SIGTERM)
        for name, _, _ in self.members:
            self.procs.signal(name, signal.SIGTERM)


def run(report, procs, binary, certs, workdir):
    cluster = TLSEtcdCluster(procs, workdir, certs)
    cluster.start()
    try:
        report.check(wait_until(cluster.healthy, 30) is not None,
                     "a 3-member etcd cluster with client and peer TLS and --client-cert-auth is healthy")
        status, _ = cluster.curl(0, "/health", identity=None)
        report.check(status != 0, "etcd refuses a client without a certificate")
        zones = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "zones")
        store = "etcds://" + ",".join(cluster.endpoints(["127.0.0.1", "localhost", "127.0.0.1"]))
        identity = ["--etcd-ca", f"{certs}/ca.pem", "--etcd-cert", f"{certs}/client.pem", "--etcd-key", f"{certs}/client.key"]
        nodes = [BeaconNode(procs, f"tls-node-{n}", binary, [], zones, extra=identity) for n in (1, 2)]
        for node in nodes:
            node.argv[node.argv.index("--store") + 1] = store
            node.start()
        report.check(all(node.wait_up() for node in nodes) and
                     wait_until(lambda: all(node.health() == 200 for node in nodes), 15) is not None,
                     "two Beacon nodes on --store etcds://... with --etcd-ca, --etcd-cert, --etcd-key are in sync",
                     procs.log_tail("tls-node-1"))
        a, b = nodes
        status, reply = a.register(service="orders", function="create", address="10.0.0.21", port=8080, id="tls-1", ttl=10)
        report.check(status == 200, "register on node 1", str(reply))
        report.check(wait_until(lambda: b.resolve(NAME) == {"10.0.0.21"}, 5) is not None,
                     "node 2 answers it in DNS (the watch stream over TLS)")
        report.check(b.heartbeat("tls-1")[0] == 200, "a heartbeat on node 2 keeps the etcd lease alive over TLS")
        report.check(a.deregister("tls-1")[0] == 200 and wait_until(lambda: b.resolve(NAME) == set(), 5) is not None,
                     "deregister on node 1: gone from node 2")

        untrusting = BeaconNode(procs, "tls-node-other-ca", binary, [], zones, extra=[
            "--etcd-ca", f"{certs}/other-ca.pem", "--etcd-cert", f"{certs}/client.pem", "--etcd-key", f"{certs}/client.key"])
        anonymous = BeaconNode(procs, "tls-node-anonymous", binary, [], zones, extra=["--etcd-ca", f"{certs}/ca.pem"])
        for node in (untrusting, anonymous):
            node.argv[node.argv.index("--store") + 1] = store
            node.start()
            node.wait_up()
        status, reply = http("GET", untrusting.url("/healthz"))
        report.check(status == 503 and "certificate verify failed" in str(reply),
                     "a node whose --etcd-ca does not trust the members reports 503 naming the failure", str(reply))
        status, reply = http("GET", anonymous.url("/healthz"))
        report.check(status == 503, "a node without a client certificate is refused by etcd (503)", str(reply))

        procs.signal(cluster.members[0][0], signal.SIGTERM)
        status, _ = b.register(service="orders", function="create", address="10.0.0.22", port=8080, id="tls-2", ttl=10)
        report.check(status == 200 and wait_until(lambda: a.resolve(NAME) == {"10.0.0.22"}, 10) is not None,
                     "with one member stopped, node 2 registers and node 1 answers (failover over TLS)")
    finally:
        for name in ("tls-node-1", "tls-node-2", "tls-node-other-ca", "tls-node-anonymous"):
            procs.signal(name, signal.SIGTERM)
        cluster.stop()
