"""Starting the deployment's own server scripts (deploy/dns/run-dns.sh,
deploy/mosquitto/run-broker.sh) from Python tests: free loopback ports,
processes that are always stopped, waiting for readiness."""

import base64
import os
import random
import signal
import socket
import subprocess
import time
from pathlib import Path

import deploy_files as files

RUN_DNS = files.SOURCE_DIR / "deploy" / "dns" / "run-dns.sh"
RUN_BROKER = files.SOURCE_DIR / "deploy" / "mosquitto" / "run-broker.sh"

_handed_out = set()
_started = [0]


def fresh_log(state_dir):
    """A new log file next to a state directory, one per start."""
    _started[0] += 1
    return Path(state_dir).parent / f"{Path(state_dir).name}.{_started[0]}.log"


def free_port():
    """A port free for both TCP and UDP on 127.0.0.1 now, never the same twice
    in a process; in 20000-31999, below the kernel's ephemeral range
    (32768-60999), so that no outgoing connection takes it before the server
    binds it."""
    for _ in range(1000):
        port = random.randrange(20000, 32000)
        if port in _handed_out:
            continue
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp, \
                    socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                tcp.bind(("127.0.0.1", port))
                udp.bind(("127.0.0.1", port))
        except OSError:
            continue
        _handed_out.add(port)
        return port
    raise RuntimeError("no free port")


def random_tsig_key(name="danemq-test"):
    return f"hmac-sha256:{name}:{base64.b64encode(os.urandom(32)).decode()}"


class Server:
    """A child process in its own process group, output in a log file."""

    def __init__(self, argv, env, log_path, preexec=None):
        self.log_path = Path(log_path)
        self.log = open(self.log_path, "ab")
        full_env = dict(os.environ)
        full_env.update(env)
        self.process = subprocess.Popen(argv, env=full_env, stdout=self.log, stderr=subprocess.STDOUT,
                                        start_new_session=True, preexec_fn=preexec)

    def output(self):
        return self.log_path.read_text(errors="replace")

    def running(self):
        return self.process.poll() is None

    def wait_for(self, predicate, timeout, what):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            if not self.running():
                raise AssertionError(f"{what}: the process exited ({self.process.returncode}):\n{self.output()}")
            time.sleep(0.05)
        raise AssertionError(f"{what}: not within {timeout} s:\n{self.output()}")

    def stop(self, grace=5.0):
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()
        return self.process.returncode


class LocalDns(Server):
    """Knot + Unbound through run-dns.sh on free loopback ports."""

    def __init__(self, state_dir, tsig_key, zone="danemq.test", wrap=(), listen="127.0.0.1", **kwargs):
        self.state_dir = Path(state_dir)
        self.zone = zone
        self.tsig_key = tsig_key
        self.listen = listen
        self.knot_port = kwargs.pop("knot_port", None) or free_port()
        self.unbound_port = kwargs.pop("unbound_port", None) or free_port()
        env = {"DNS_STATE_DIR": str(self.state_dir), "DNS_UPDATE_TSIG": tsig_key, "DNS_ZONE": zone,
               "DNS_LISTEN": listen, "KNOT_PORT": str(self.knot_port), "UNBOUND_PORT": str(self.unbound_port)}
        env.update(kwargs.pop("env", {}))
        self.state_dir.mkdir(parents=True, exist_ok=True)
        super().__init__([*wrap, str(RUN_DNS)], env, fresh_log(self.state_dir))
        self.wait_for(lambda: (self.state_dir / "ready").exists(), 40, "run-dns.sh ready")

    @property
    def resolver(self):
        return f"{self.listen}:{self.unbound_port}"

    @property
    def update_server(self):
        return f"{self.listen}:{self.knot_port}"


class LocalBroker(Server):
    """Mosquitto through run-broker.sh on a free loopback port."""

    def __init__(self, state_dir, wrap=(), listen="127.0.0.1", port=None, env=None):
        self.state_dir = Path(state_dir)
        self.listen = listen
        self.port = port or free_port()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        env = {**(env or {}), "BROKER_STATE_DIR": str(self.state_dir), "BROKER_LISTEN": listen,
               "BROKER_PORT": str(self.port)}
        super().__init__([*wrap, str(RUN_BROKER)], env, fresh_log(self.state_dir))
        self.wait_for(lambda: f"port {self.port}" in self.output() and "running" in self.output(), 20,
                      "run-broker.sh listening")
