"""No restart loop without a required setting: a new Balena device has no
IDENTITY_NAME until someone sets it. The long-running commands (the receiver
daemon, `danemq-sender run`, `danemq-maintenance watch`) started without it
keep running, say on one line what is missing and how to set it (once a
minute: once in a few seconds), and stop promptly on SIGTERM; the one-shot
commands still exit 1 at once."""

import signal
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import deploy_files as files  # noqa: E402

BIN = files.BINARY_DIR / "bin"
WAIT_SECONDS = 3

DAEMONS = {
    "receiver": (["danemq-receiver"], "IDENTITY_NAME (--identity-name) is required"),
    "sender run": (["danemq-sender", "run"], "IDENTITY_NAME (--identity-name) is required"),
    "maintenance watch": (["danemq-maintenance", "watch"], "IDENTITY_NAME is not set"),
}


class MissingSetting(unittest.TestCase):
    def setUp(self):
        self.work = tempfile.TemporaryDirectory(prefix="danemq-missing-")
        self.addCleanup(self.work.cleanup)
        self.env = files.clean_env(MQTT_HOST="127.0.0.1", DATA_PATH=self.work.name, CRYPTO_PATH=self.work.name)

    def start(self, argv, env):
        process = subprocess.Popen([str(BIN / argv[0]), *argv[1:]], env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: process.poll() is None and process.kill())
        return process

    def test_each_daemon_waits_and_says_what_is_missing(self):
        for name, (argv, missing) in DAEMONS.items():
            with self.subTest(name):
                process = self.start(argv, self.env)
                time.sleep(WAIT_SECONDS)
                self.assertIsNone(process.poll(), f"{name} exited without IDENTITY_NAME: a restart loop")
                started = time.monotonic()
                process.send_signal(signal.SIGTERM)
                out, err = process.communicate(timeout=5)
                self.assertLess(time.monotonic() - started, 2.5, f"{name}: SIGTERM must stop the wait promptly")
                lines = err.splitlines()
                self.assertEqual(len(lines), 1, f"{name}: one line, once a minute:\n{err}")
                self.assertIn(missing, lines[0])
                self.assertIn("waiting", lines[0])
                self.assertIn("Balena device or fleet variable", lines[0])
                self.assertEqual(out, "")

    def test_the_missing_broker_is_named_with_the_originals_public_one(self):
        env = dict(self.env, IDENTITY_NAME="alice.example")
        del env["MQTT_HOST"]
        process = self.start(["danemq-receiver"], env)
        time.sleep(1)
        self.assertIsNone(process.poll())
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=5)
        self.assertIn("MQTT_HOST (--mqtt-host) is required", err)
        self.assertIn("broker.hivemq.com", err)

    def test_one_shot_commands_still_exit(self):
        for argv in (["danemq-sender", "send", "bob.example", "hi"], ["danemq-maintenance", "create_selfsigned_id"],
                     ["danemq-maintenance", "check"]):
            with self.subTest(" ".join(argv)):
                done = subprocess.run([str(BIN / argv[0]), *argv[1:]], env=self.env, capture_output=True, text=True,
                                      timeout=10)
                self.assertEqual(done.returncode, 1, done.stderr)
                self.assertIn("IDENTITY_NAME", done.stderr)
                self.assertNotIn("waiting", done.stderr)


if __name__ == "__main__":
    files.run_tests()
