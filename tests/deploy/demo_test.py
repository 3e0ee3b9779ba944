"""scripts/demo.sh on this build (DEMO_BIN_DIR: no install, no build): it
must show bob's `alice.danemq.test says: HELLO THERE` line, the broker
admitting bob's receiver and alice's sender by DNS (over TLS, through the
plugin) and refusing a client without a valid token, and a passing `check`,
exit 0, and leave nothing behind — no process it started, no temporary
directory — also when it is stopped midway."""

import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import deploy_files as files  # noqa: E402

DEMO = files.SOURCE_DIR / "scripts" / "demo.sh"


def processes_mentioning(text):
    """PIDs whose command line mentions `text` (the demo's temporary directory)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline:
            found.append(int(entry.name))
    return found


@unittest.skipUnless(files.BINARY_DIR, "needs DANEMQ_BINARY_DIR (run through ctest)")
class Demo(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="danemq-demo-test-")
        Path(self.tmp.name).chmod(0o755)
        # As a user runs it: the demo itself copes with a clock the kernel
        # reports as not synchronised (build machines often do).
        self.env = dict(os.environ, DEMO_BIN_DIR=str(files.BINARY_DIR / "bin"), TMPDIR=self.tmp.name)
        self.env.pop("REQUIRE_SYNCED_CLOCK", None)

    def tearDown(self):
        for pid in processes_mentioning(self.tmp.name):
            os.kill(pid, signal.SIGKILL)
        self.tmp.cleanup()

    def assert_nothing_left(self):
        self.assertEqual(processes_mentioning(self.tmp.name), [], "the demo left processes running")
        self.assertEqual(list(Path(self.tmp.name).iterdir()), [], "the demo left its temporary directory")

    def test_shows_the_message_and_the_check_and_stops_everything(self):
        done = subprocess.run([str(DEMO)], env=self.env, capture_output=True, text=True, timeout=150)
        output = done.stdout + done.stderr
        self.assertEqual(done.returncode, 0, output)
        lines = done.stdout.splitlines()
        self.assertIn("alice.danemq.test says: HELLO THERE", lines, output)
        self.assertIn("$ danemq-maintenance check", lines, output)
        self.assertTrue(any("bob.danemq.test" in line for line in lines[lines.index("$ danemq-maintenance check"):]),
                        output)
        self.assertNotIn("hmac-sha256:", output, "the TSIG secret was printed")
        # Admission by DNS: the services logged in through the plugin, and a
        # client whose password is no token was turned away.
        self.assertIn("danemq auth: admitted bob.danemq.test/receiver as bob.danemq.test from 127.0.0.1", lines,
                      output)
        self.assertTrue(any(line.startswith("danemq auth: admitted alice.danemq.test/send-") for line in lines), output)
        self.assertIn("Connection error: Connection Refused: not authorised.", lines, output)
        self.assertTrue(any(line.startswith("danemq auth: refused alice.danemq.test/forged as alice.danemq.test")
                            for line in lines), output)
        self.assertFalse(any(line.startswith("danemq auth: admitted alice.danemq.test/forged") for line in lines),
                         output)
        self.assert_nothing_left()

    def test_stopped_midway_it_still_stops_everything(self):
        demo = subprocess.Popen([str(DEMO)], env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, start_new_session=True)
        # Stop the script alone (not its process group) once its servers run:
        # its own cleanup must stop them.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and demo.poll() is None:
            if any(Path(self.tmp.name).glob("danemq-demo.*/dns/ready")):
                break
            time.sleep(0.1)
        if demo.poll() is not None:
            self.fail(f"the demo ended before its servers were ready:\n{demo.communicate()[0]}")
        os.kill(demo.pid, signal.SIGTERM)
        output, _ = demo.communicate(timeout=30)
        self.assertEqual(demo.returncode, 128 + signal.SIGTERM, output)
        self.assert_nothing_left()


if __name__ == "__main__":
    files.run_tests()
