"""The images of scripts/build-images.sh, run as containers (buildah run,
chroot isolation, host network): alice's and bob's identities made and
published by the maintenance image, bob's receiver container (identity and
data volumes mounted) receives a message from alice's sender container
through a Mosquitto and a DNSSEC-signed zone of the test rig on loopback.
The volumes are host directories mounted under /volumes (CRYPTO_PATH and
DATA_PATH point there), not over the images' /identity and /data: see
Device.run_argv.

Usage: image_round_trip.py <buildah storage options...>
(called by scripts/build-images.sh; exit 1 with the containers' output when
the message does not arrive)."""

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import server_rig as rig  # noqa: E402

STORAGE = sys.argv[1:]
ALICE, BOB = "alice.danemq.test", "bob.danemq.test"
MESSAGE = "HELLO THERE"
# Where the device's identity and data volumes are mounted in the containers.
MOUNT = "/volumes"


def buildah(*args, timeout=120, check=True):
    done = subprocess.run(["buildah", *STORAGE, *args], capture_output=True, text=True, timeout=timeout)
    if check and done.returncode != 0:
        raise SystemExit(f"buildah {' '.join(args)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return done


class Device:
    def __init__(self, name, work, uid, env):
        self.name = name
        self.root = work / name
        self.volumes = {}
        for volume in ("identity", "data"):
            path = work / name / volume
            path.mkdir(parents=True)
            os.chown(path, uid, uid)
            path.chmod(0o700)
            self.volumes[volume] = path
        self.env = dict(env, IDENTITY_NAME=name)
        self.containers = {}

    def container(self, service):
        if service not in self.containers:
            self.containers[service] = buildah("from", "--pull=never", f"danemq-{service}:test").stdout.strip()
        return self.containers[service]

    def run_argv(self, service, argv, extra_env=None):
        # One bind mount holding both volumes: buildah 1.28's chroot
        # isolation leaves out both when given two (-v or --mount) over the
        # image's VOLUMEs, and the programs then write into the container.
        options = ["--isolation", "chroot", "--network", "host", "-v", f"{self.root}:{MOUNT}"]
        env = {"CRYPTO_PATH": f"{MOUNT}/identity/", "DATA_PATH": f"{MOUNT}/data/", **self.env, **(extra_env or {})}
        for key, value in env.items():
            options += ["-e", f"{key}={value}"]
        return ["buildah", *STORAGE, "run", *options, self.container(service), "--", *argv]

    def run(self, service, *argv, extra_env=None, timeout=60):
        done = subprocess.run(self.run_argv(service, argv, extra_env), capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise SystemExit(f"{self.name} {service}: {' '.join(argv)} failed ({done.returncode}):\n"
                             f"{done.stdout}{done.stderr}")
        return done

    def remove(self):
        for container in self.containers.values():
            buildah("rm", container, check=False)


def wait_for(predicate, timeout, what, output):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise SystemExit(f"timed out waiting for {what}:\n{output()}")


def main():
    started = time.monotonic()
    user = buildah("inspect", "--type", "image", "--format", "{{.Docker.Config.User}}",
                   "danemq-receiver:test").stdout.strip()
    uid = int(user.split(":")[0])
    with tempfile.TemporaryDirectory(prefix="danemq-images-") as temp:
        work = Path(temp)
        os.chmod(work, 0o755)
        cleanups = []
        try:
            tsig = rig.random_tsig_key()
            dns = rig.LocalDns(work / "dns", tsig)
            cleanups.append(dns.stop)
            broker = rig.LocalBroker(work / "broker")
            cleanups.append(broker.stop)
            # The rig's zone is not under the DNS root: its validating
            # resolver on loopback is trusted, as in the local stack.
            env = {"MQTT_HOST": "127.0.0.1", "MQTT_PORT": str(broker.port), "DNS_RESOLVER": dns.resolver,
                   "DNSSEC_VALIDATION": "resolver", "DNSSEC_TRUST_RESOLVER": "1"}
            devices = {name: Device(name, work, uid, env) for name in (ALICE, BOB)}
            for device in devices.values():
                cleanups.append(device.remove)
                device.run("maintenance", "create_selfsigned_id")
                key = device.volumes["identity"] / f"{device.name}.key.pem"
                if not key.is_file():
                    raise SystemExit(f"{device.name}: create_selfsigned_id left no {key} in the identity volume")
                device.run("maintenance", "danemq-maintenance", "publish-tlsa",
                           extra_env={"DNS_UPDATE_SERVER": dns.update_server, "DNS_UPDATE_TSIG": tsig})

            bob = devices[BOB]
            out_path, err_path = work / "receiver.out", work / "receiver.err"
            with open(out_path, "w") as out, open(err_path, "w") as err:
                receiver = subprocess.Popen(bob.run_argv("receiver", ["danemq-receiver"]), stdout=out, stderr=err,
                                            start_new_session=True)

            def stop_receiver():
                if receiver.poll() is None:
                    os.killpg(receiver.pid, signal.SIGTERM)
                    try:
                        receiver.wait(timeout=10)
                    except subprocess.TimeoutExpired:
                        os.killpg(receiver.pid, signal.SIGKILL)
                        receiver.wait()
            cleanups.append(stop_receiver)

            def output():
                return f"stdout:\n{out_path.read_text()}\nstderr:\n{err_path.read_text()}"

            wait_for(lambda: f"{BOB}.key.pem" in err_path.read_text() or receiver.poll() is not None, 60,
                     "bob's receiver in sync with DNS (Reading ...key.pem)", output)
            if receiver.poll() is not None:
                raise SystemExit(f"bob's receiver container exited ({receiver.returncode}):\n{output()}")
            sent = devices[ALICE].run("sender", "send_message", BOB, MESSAGE)
            print(f"alice's sender container: {sent.stdout.strip()}")
            wait_for(lambda: f"{ALICE} says: {MESSAGE}" in out_path.read_text(), 30, "bob's receiver prints it",
                     output)
            print(f"bob's receiver container: {ALICE} says: {MESSAGE} "
                  f"(round trip through the images in {time.monotonic() - started:.0f} s)")
            # (buildah run answers SIGTERM by killing the container's process:
            # its exit status says nothing about the receiver's own stop.)
            stop_receiver()
            database = bob.volumes["data"] / "receiver.db"
            if (database.stat().st_mode & 0o777) != 0o600:
                raise SystemExit(f"{database} has mode {oct(database.stat().st_mode & 0o777)}, not 0600")
        finally:
            for cleanup in reversed(cleanups):
                cleanup()


if __name__ == "__main__":
    main()
