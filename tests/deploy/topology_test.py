"""The deployment end to end without a Docker engine: the three services of
docker-compose.yml run exactly as the compose files (with deploy/local.env
and docker-compose.local.yml) and the Dockerfile wire them — the same targets'
commands, environment, user, volumes and health check — each service in its
own network namespace joined to a bridge by a veth pair, the broker and the
DNS server (the local stack's own scripts) in another namespace at the
compose file's fixed addresses, the identity directory shared between a
device's services. The broker admits the services by their DANE identity
over TLS (the plugin from the same `cmake --install`, the development CA it
makes, the DNS server's trust anchor), as the compose file wires it. Two devices, alice and bob, go through the README's
steps: up, create_selfsigned_id, generate_tlsa, publish-tlsa, receiver in
sync (its log line and its health check), send_message, the message printed
by bob's receiver only, check.

Needs root and network namespaces; skips with a message where they are not
permitted. The executables come from `cmake --install` of this build, as in
the image's build stage."""

import ipaddress
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import deploy_files as files  # noqa: E402
import server_rig as rig  # noqa: E402

LOCAL_ENV = files.SOURCE_DIR / "deploy" / "local.env"
DEVICES = ("alice.danemq.test", "bob.danemq.test")
IMAGE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
STEP_TIMEOUT = 60


def sh(*argv, check=True, timeout=30, **kwargs):
    done = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=timeout, **kwargs)
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, argv))} exited {done.returncode}:\n{done.stdout}{done.stderr}")
    return done


def namespaces_permitted():
    """None when this process may create network namespaces, else why not."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    if not shutil.which("ip"):
        return "iproute2 is not installed"
    probe = f"dmq-probe-{os.getpid()}"
    done = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if done.returncode != 0:
        return f"`ip netns add` is not permitted here: {done.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


class Network:
    """A bridge in the servers' namespace, one namespace (veth + address) per service."""

    def __init__(self, prefix, subnet, server_addresses):
        self.prefix = prefix
        self.subnet = ipaddress.ip_network(subnet)
        self.namespaces = []
        self.hosts = {}  # compose service name -> address
        self.servers = self.add_namespace("srv")
        self.run(self.servers, "ip", "link", "add", "br0", "type", "bridge")
        self.run(self.servers, "ip", "link", "set", "br0", "up")
        for name, address in server_addresses.items():
            self.run(self.servers, "ip", "addr", "add", f"{address}/{self.subnet.prefixlen}", "dev", "br0")
            self.hosts[name] = address
        self.next_host = 100

    def add_namespace(self, role):
        name = f"{self.prefix}-{role}"
        sh("ip", "netns", "add", name)
        self.namespaces.append(name)
        self.run(name, "ip", "link", "set", "lo", "up")
        return name

    def add_service(self, role):
        """A namespace joined to the bridge, with the next free address of the subnet."""
        name = self.add_namespace(role)
        index = len(self.namespaces)
        outside, inside = f"{self.prefix[-6:]}o{index}", f"{self.prefix[-6:]}i{index}"
        sh("ip", "link", "add", inside, "type", "veth", "peer", "name", outside)
        sh("ip", "link", "set", inside, "netns", name)
        sh("ip", "link", "set", outside, "netns", self.servers)
        self.run(self.servers, "ip", "link", "set", outside, "master", "br0")
        self.run(self.servers, "ip", "link", "set", outside, "up")
        address = self.subnet.network_address + self.next_host
        self.next_host += 1
        self.run(name, "ip", "addr", "add", f"{address}/{self.subnet.prefixlen}", "dev", inside)
        self.run(name, "ip", "link", "set", inside, "up")
        return name

    def write_hosts(self):
        """Compose's service names, resolvable in every namespace (ip netns exec mounts /etc/netns/<ns>/hosts)."""
        lines = "127.0.0.1 localhost\n" + "".join(f"{a} {n}\n" for n, a in self.hosts.items())
        for name in self.namespaces:
            directory = Path("/etc/netns") / name
            directory.mkdir(parents=True, exist_ok=True)
            (directory / "hosts").write_text(lines)

    @staticmethod
    def run(namespace, *argv):
        return sh("ip", "netns", "exec", namespace, *argv)

    def remove(self):
        for name in reversed(self.namespaces):
            subprocess.run(["ip", "netns", "del", name], capture_output=True)
            shutil.rmtree(Path("/etc/netns") / name, ignore_errors=True)


class Topology(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        why_not = namespaces_permitted()
        if why_not:
            raise unittest.SkipTest(f"topology test skipped: {why_not}")
        if not files.BINARY_DIR:
            raise unittest.SkipTest("topology test needs DANEMQ_BINARY_DIR (run it through ctest)")
        cls.cleanups = []
        try:
            cls.set_up_topology()
        except BaseException:
            cls.tear_down_topology()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.tear_down_topology()

    @classmethod
    def tear_down_topology(cls):
        for cleanup in reversed(getattr(cls, "cleanups", [])):
            try:
                cleanup()
            except Exception as error:  # keep cleaning up
                print(f"cleanup: {error}", file=sys.stderr)

    # ---- the wiring, read from the deployment files ----

    @classmethod
    def set_up_topology(cls):
        cls.temp = tempfile.TemporaryDirectory(prefix="danemq-topology-")
        cls.cleanups.append(cls.temp.cleanup)
        cls.work = Path(cls.temp.name)
        cls.work.chmod(0o755)
        cls.dockerfile = files.parse_dockerfile()
        cls.uid = int(files.stage_args(cls.dockerfile.stage("runtime"))["APP_UID"])

        # The image's /usr/local: what the build stage's `cmake --install` makes.
        cls.prefix = cls.work / "usr-local"
        installed = subprocess.run(["cmake", "--install", str(files.BINARY_DIR), "--prefix", str(cls.prefix)],
                                   capture_output=True, text=True, timeout=120)
        if installed.returncode != 0:
            raise AssertionError("cmake --install into a fresh prefix failed; the Dockerfile's build stage runs the "
                                 f"same command, so the images would not build:\n{installed.stdout}{installed.stderr}")

        cls.compose = {device: files.compose_config(env_file=LOCAL_ENV, local=True,
                                                    environment={"IDENTITY_NAME": device})
                       for device in DEVICES}
        services = cls.compose[DEVICES[0]]["services"]
        subnet = cls.compose[DEVICES[0]]["networks"]["default"]["ipam"]["config"][0]["subnet"]
        server_addresses = {name: services[name]["networks"]["default"]["ipv4_address"]
                            for name in files.LOCAL_SERVICES}
        cls.network = Network(f"dmq{os.getpid() % 100000}", subnet, server_addresses)
        cls.cleanups.append(cls.network.remove)
        cls.service_namespace = {}
        for device in DEVICES:
            for service in files.SERVICES:
                cls.service_namespace[device, service] = cls.network.add_service(f"{device[0]}{service[0]}")
        cls.network.write_hosts()

        # The named volumes of each device's project, as directories owned by the image's user.
        cls.volumes = {}
        for device in DEVICES:
            for volume in ("identity", "data"):
                path = cls.work / device / volume
                path.mkdir(parents=True)
                os.chown(path, cls.uid, cls.uid)
                path.chmod(0o750)
                cls.volumes[device, volume] = path

        cls.start_local_servers(services)
        cls.processes = {}

    @classmethod
    def start_local_servers(cls, services):
        """The local stack's broker and dns, their images' environment plus the compose file's."""
        # As in their images: in the servers' namespace, as the non-root user.
        wrap = ("ip", "netns", "exec", cls.network.servers, "setpriv", f"--reuid={cls.uid}", f"--regid={cls.uid}",
                "--clear-groups", "--")
        for state in ("dns", "broker"):
            (cls.work / state).mkdir()
            os.chown(cls.work / state, cls.uid, cls.uid)
        dns_env = files.stage_env(cls.dockerfile, "dns")
        dns_env.update({k: str(v) for k, v in services["dns"]["environment"].items() if v is not None})
        cls.dns = rig.LocalDns(cls.work / "dns", dns_env["DNS_UPDATE_TSIG"], zone=dns_env.get("DNS_ZONE", "danemq.test"),
                               wrap=wrap, listen=dns_env["DNS_LISTEN"], knot_port=int(dns_env["KNOT_PORT"]),
                               unbound_port=int(dns_env["UNBOUND_PORT"]),
                               env={k: v for k, v in dns_env.items() if k.startswith("DNS_") and
                                    k not in ("DNS_STATE_DIR", "DNS_LISTEN")})
        cls.cleanups.append(cls.dns.stop)
        broker_env = files.stage_env(cls.dockerfile, "broker")
        # The broker's volumes as directories: its own, the CA it exports
        # (shared with the devices' services) and the DNS server's, whose
        # trust anchor it reads.
        (cls.work / "broker-ca").mkdir()
        os.chown(cls.work / "broker-ca", cls.uid, cls.uid)
        cls.shared_volumes = {"broker-data": cls.work / "broker", "broker-ca": cls.work / "broker-ca",
                              "dns-data": cls.work / "dns"}
        broker_env.update({k: str(v) for k, v in services["broker"]["environment"].items() if v is not None})
        broker_env = cls.map_volumes(broker_env, services["broker"]["volumes"], cls.shared_volumes)
        # The image's /usr/local is this build's install prefix.
        broker_env["BROKER_AUTH_PLUGIN"] = str(cls.prefix) + broker_env["BROKER_AUTH_PLUGIN"][len("/usr/local"):]
        cls.broker = rig.LocalBroker(cls.work / "broker", wrap=wrap, listen=broker_env["BROKER_LISTEN"],
                                     port=int(broker_env["BROKER_PORT"]),
                                     env={k: v for k, v in broker_env.items() if k.startswith("BROKER_")})
        cls.cleanups.append(cls.broker.stop)

    @staticmethod
    def map_volumes(env, mounts, directories):
        """env with the paths under each mount (compose's `volume:/path[:mode]`) moved to the volume's directory."""
        env = dict(env)
        for mount in mounts:
            volume, path = mount.split(":")[0], mount.split(":")[1].rstrip("/")
            for key, value in list(env.items()):
                if value == path or value.startswith(path + "/"):
                    env[key] = str(directories[volume]) + value[len(path):]
        return env

    @classmethod
    def service_env(cls, device, service):
        """The container's environment: the image's ENV, then the compose file's, volumes mapped to directories."""
        env = {"PATH": f"{cls.prefix}/bin:{IMAGE_PATH}", "HOME": "/nonexistent", "LANG": "C.UTF-8"}
        env.update(files.stage_env(cls.dockerfile, service))
        compose_env = cls.compose[device]["services"][service]["environment"]
        env.update({key: str(value) for key, value in compose_env.items() if value is not None})
        directories = {**cls.shared_volumes, "identity": cls.volumes[device, "identity"],
                       "data": cls.volumes[device, "data"]}
        env = cls.map_volumes(env, cls.compose[device]["services"][service]["volumes"], directories)
        for key in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
            if key in os.environ:
                env[key] = os.environ[key]
        # Build machines often report their clock as not synchronised although
        # it is right: the receiver would judge nothing (REQUIRE_SYNCED_CLOCK).
        env.setdefault("REQUIRE_SYNCED_CLOCK", "0")
        return env

    @classmethod
    def container_argv(cls, device, service, argv):
        """A command in the service's namespace, as the image's non-root user."""
        mounts = [m.split(":")[1].rstrip("/") for m in cls.compose[device]["services"][service]["volumes"]]
        expected = ["/broker-ca", "/data", "/identity"] if service in ("receiver", "sender") else ["/data", "/identity"]
        assert sorted(mounts) == expected, mounts
        return ["ip", "netns", "exec", cls.service_namespace[device, service], "setpriv", f"--reuid={cls.uid}",
                f"--regid={cls.uid}", "--clear-groups", "--", *argv]

    @classmethod
    def image_command(cls, service, keyword="CMD"):
        instruction = cls.dockerfile.effective(service, keyword)
        return instruction.exec_form()

    # ---- docker-compose up / run ----

    def up(self, device, service):
        log = self.work / f"{device}-{service}"
        process = rig.Server(self.container_argv(device, service, self.image_command(service)),
                             self.service_env(device, service), f"{log}.log")
        self.cleanups.append(process.stop)
        self.processes[device, service] = process
        return process

    def run_in(self, device, service, *argv, timeout=STEP_TIMEOUT):
        """docker-compose run <service> <argv...> for one device."""
        return subprocess.run(self.container_argv(device, service, list(argv)), env=self.service_env(device, service),
                              capture_output=True, text=True, timeout=timeout)

    def wait_until(self, predicate, what, timeout=STEP_TIMEOUT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            for (device, service), process in self.processes.items():
                self.assertTrue(process.running(),
                                f"{device} {service} stopped ({process.process.returncode}):\n{process.output()}")
            time.sleep(0.2)
        logs = "\n".join(f"--- {d} {s}\n{p.output()[-3000:]}" for (d, s), p in self.processes.items())
        self.fail(f"{what}: not within {timeout} s\n{logs}")

    def test_the_readme_steps_end_to_end(self):
        alice, bob = DEVICES

        # docker-compose up --build (each device: its own project, its own volumes)
        for device in DEVICES:
            for service in files.SERVICES:
                self.up(device, service)

        # without an identity, the receiver's health check says unhealthy
        health = self.image_command("receiver", "HEALTHCHECK")
        for device in DEVICES:
            unhealthy = self.run_in(device, "receiver", *health, timeout=15)
            self.assertNotEqual(unhealthy.returncode, 0, f"{device}: healthy without an identity\n{unhealthy.stdout}")

        # docker-compose run maintenance create_selfsigned_id; generate_tlsa; publish-tlsa
        for device in DEVICES:
            created = self.run_in(device, "maintenance", "create_selfsigned_id")
            self.assertEqual(created.returncode, 0, created.stderr)
            key = self.volumes[device, "identity"] / f"{device}.key.pem"
            self.assertEqual(key.stat().st_uid, self.uid, "the key belongs to the image's user")
            self.assertEqual(key.stat().st_mode & 0o777, 0o600)
            record = self.run_in(device, "maintenance", "generate_tlsa")
            self.assertEqual(record.returncode, 0, record.stderr)
            self.assertRegex(record.stdout, rf"{re.escape(device)}\.\s+\d+\s+IN\s+TLSA\s+3 0 0 [0-9a-fA-F]+")
            published = self.run_in(device, "maintenance", "danemq-maintenance", "publish-tlsa")
            self.assertEqual(published.returncode, 0, published.stdout + published.stderr)

        # the receivers come in sync with DNS: the original's log line, then healthy
        for device in DEVICES:
            receiver = self.processes[device, "receiver"]
            line = re.compile(rf"Reading \S*{re.escape(device)}\.key\.pem")
            self.wait_until(lambda: line.search(receiver.output()), f"{device}'s receiver in sync")
            self.wait_until(lambda: self.run_in(device, "receiver", *health, timeout=15).returncode == 0,
                            f"{device}'s receiver healthy ({' '.join(health)})")

        # docker-compose run sender send_message "$RECIPIENT_NAME" "HELLO THERE"
        sent = self.run_in(alice, "sender", "send_message", bob, "HELLO THERE")
        self.assertEqual(sent.returncode, 0, sent.stdout + sent.stderr)

        bob_receiver = self.processes[bob, "receiver"]
        self.wait_until(lambda: f"{alice} says: HELLO THERE" in bob_receiver.output(), "bob receives the message")
        self.assertNotIn("HELLO THERE", self.processes[alice, "receiver"].output())

        # the identity against DNS, as the maintenance container reports it
        for device in DEVICES:
            checked = self.run_in(device, "maintenance", "danemq-maintenance", "check")
            self.assertEqual(checked.returncode, 0, checked.stdout + checked.stderr)

        # the services logged in through the plugin, as their identities, over TLS
        for device in DEVICES:
            for client in ("receiver", "sender"):
                self.assertRegex(self.broker.output(),
                                 rf"danemq auth: admitted {re.escape(device)}/{client}\S* as {re.escape(device)} from ")
        self.assertNotIn("danemq auth: denied", self.broker.output())

        # every client reached the broker over the bridge, from a service's own namespace
        connections = re.findall(r"New connection from (\S+?):\d+ on port", self.broker.output())
        self.assertTrue(connections, self.broker.output())
        service_network = ipaddress.ip_network(self.compose[alice]["networks"]["default"]["ipam"]["config"][0]["subnet"])
        for address in connections:
            self.assertIn(ipaddress.ip_address(address), service_network, "a client came from outside the network")
            self.assertNotIn(address, self.network.hosts.values(), "a client ran in the servers' namespace")

        # the long-running services are still up
        for (device, service), process in self.processes.items():
            self.assertTrue(process.running(), f"{device} {service}:\n{process.output()}")


if __name__ == "__main__":
    files.run_tests()
