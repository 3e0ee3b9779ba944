"""The local servers of the local docker-compose stack (docker-compose.local.yml) and the demo,
started by their own scripts on free loopback ports: the DNS zone is signed
and validated, accepts TSIG-signed TLSA updates and nothing else, and keeps
its records and keys across a restart; the broker keeps a persistent
session's queued messages across a restart; with BROKER_AUTH=dane it listens
with TLS only, with a development CA made at its first start and kept (or a
certificate put there in its place), and refuses clients without a token."""

import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import deploy_files as files  # noqa: E402
import server_rig as rig  # noqa: E402

TLSA_DATA = "3 1 1 " + "ab" * 32


def kdig(server, port, name, rrtype, *options):
    done = subprocess.run(["kdig", f"@{server}", "-p", str(port), "+timeout=2", "+retry=1", *options, name, rrtype],
                          capture_output=True, text=True, timeout=30)
    return done.stdout


def validated(dns, name, rrtype):
    answer = kdig("127.0.0.1", dns.unbound_port, name, rrtype, "+dnssec")
    flags = next((line for line in answer.splitlines() if line.startswith(";; Flags:")), "")
    return answer, " ad" in flags


def nsupdate(dns, commands, key=None):
    """knsupdate with `key` (algorithm:name:secret) or unsigned; returns (exit code, output)."""
    argv = ["knsupdate"] + (["-y", key] if key else [])
    script = f"server 127.0.0.1 {dns.knot_port}\nzone {dns.zone}.\n{commands}\nsend\n"
    done = subprocess.run(argv, input=script, capture_output=True, text=True, timeout=30)
    return done.returncode, done.stdout + done.stderr


class LocalDnsServer(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.temp = tempfile.TemporaryDirectory(prefix="danemq-dns-")
        cls.state = Path(cls.temp.name) / "dns"
        cls.key = rig.random_tsig_key()
        cls.dns = rig.LocalDns(cls.state, cls.key)

    @classmethod
    def tearDownClass(cls):
        cls.dns.stop()
        cls.temp.cleanup()

    def test_answers_for_the_zone_with_validated_answers_and_an_anchor(self):
        answer, secure = validated(self.dns, "danemq.test", "SOA")
        self.assertTrue(secure, answer)
        anchor = (self.state / "trust-anchor").read_text()
        self.assertRegex(anchor, r"^danemq\.test\. DS \d+ 13 2 [0-9a-f]{64}\n")
        # A name that does not exist is a validated NXDOMAIN, not a failure.
        answer, secure = validated(self.dns, "nobody.danemq.test", "TLSA")
        self.assertIn("NXDOMAIN", answer)
        self.assertTrue(secure, answer)

    def test_accepts_a_tsig_signed_tlsa_update_and_serves_it_signed(self):
        code, output = nsupdate(self.dns, f"update add alice.danemq.test. 60 TLSA {TLSA_DATA}", self.key)
        self.assertEqual(code, 0, output)
        answer, secure = "", False
        for _ in range(40):  # the resolver may still cache the earlier absence for a second
            answer, secure = validated(self.dns, "alice.danemq.test", "TLSA")
            if "TLSA\t3 1 1" in answer:
                break
            time.sleep(0.1)
        self.assertIn("TLSA\t3 1 1 " + "AB" * 32, answer)
        self.assertIn("RRSIG\tTLSA", answer)
        self.assertTrue(secure, answer)

    def test_refuses_updates_unsigned_with_another_key_or_of_other_types(self):
        code, output = nsupdate(self.dns, f"update add mallory.danemq.test. 60 TLSA {TLSA_DATA}")
        self.assertNotEqual(code, 0, output)
        code, output = nsupdate(self.dns, f"update add mallory.danemq.test. 60 TLSA {TLSA_DATA}",
                                rig.random_tsig_key())
        self.assertNotEqual(code, 0, output)
        code, output = nsupdate(self.dns, "update add mallory.danemq.test. 60 A 192.0.2.1", self.key)
        self.assertNotEqual(code, 0, output)
        answer = kdig("127.0.0.1", self.dns.knot_port, "mallory.danemq.test", "ANY", "+norec")
        self.assertIn("NXDOMAIN", answer)

    def test_refuses_a_malformed_key_setting(self):
        done = subprocess.run([str(rig.RUN_DNS)], capture_output=True, text=True, timeout=30,
                              env=files.clean_env(DNS_STATE_DIR=str(Path(self.temp.name) / "other"),
                                                  DNS_UPDATE_TSIG="hmac-md5:k:c2VjcmV0"))
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("DNS_UPDATE_TSIG", done.stderr)


class LocalDnsRestart(unittest.TestCase):
    def setUp(self):
        self.temp = tempfile.TemporaryDirectory(prefix="danemq-dns-")
        self.state = Path(self.temp.name) / "dns"
        self.key = rig.random_tsig_key()
        self.dns = rig.LocalDns(self.state, self.key)

    def tearDown(self):
        self.dns.stop()
        self.temp.cleanup()

    def test_keeps_records_and_keys_across_a_restart(self):
        code, output = nsupdate(self.dns, f"update add bob.danemq.test. 60 TLSA {TLSA_DATA}", self.key)
        self.assertEqual(code, 0, output)
        anchor = (self.state / "trust-anchor").read_text()
        self.assertEqual(self.dns.stop(), 0, self.dns.output())
        self.assertFalse((self.state / "ready").exists())
        self.dns = rig.LocalDns(self.state, self.key, knot_port=self.dns.knot_port,
                                unbound_port=self.dns.unbound_port)
        self.assertEqual((self.state / "trust-anchor").read_text(), anchor, "the zone's key changed")
        answer, secure = validated(self.dns, "bob.danemq.test", "TLSA")
        self.assertIn("TLSA\t3 1 1", answer)
        self.assertTrue(secure, answer)


class LocalBroker(unittest.TestCase):
    def setUp(self):
        self.temp = tempfile.TemporaryDirectory(prefix="danemq-broker-")
        Path(self.temp.name).chmod(0o755)  # Mosquitto started as root drops to its own user
        self.state = Path(self.temp.name) / "broker"
        self.broker = rig.LocalBroker(self.state)

    def tearDown(self):
        self.broker.stop()
        self.temp.cleanup()

    def subscribe(self, count, wait_seconds):
        return subprocess.run(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(self.broker.port), "-q", "1", "-c",
                               "-i", "danemq-deploy-test", "-t", "bob.danemq.test", "-C", str(count),
                               "-W", str(wait_seconds)], capture_output=True, text=True, timeout=30)

    def test_keeps_a_persistent_sessions_messages_across_a_restart(self):
        first = self.subscribe(1, 1)  # registers the session, times out without a message
        self.assertNotIn("HELLO", first.stdout)
        published = subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(self.broker.port), "-q", "1",
                                    "-t", "bob.danemq.test", "-m", "HELLO THERE"],
                                   capture_output=True, text=True, timeout=30)
        self.assertEqual(published.returncode, 0, published.stderr)
        self.assertEqual(self.broker.stop(), 0, self.broker.output())
        self.broker = rig.LocalBroker(self.state, port=self.broker.port)
        delivered = self.subscribe(1, 10)
        self.assertEqual(delivered.stdout.strip(), "HELLO THERE", delivered.stderr + self.broker.output())


@unittest.skipUnless(files.BINARY_DIR, "needs DANEMQ_BINARY_DIR (run through ctest)")
class LocalBrokerAdmittingByDane(unittest.TestCase):
    def setUp(self):
        self.temp = tempfile.TemporaryDirectory(prefix="danemq-broker-")
        Path(self.temp.name).chmod(0o755)  # Mosquitto started as root drops to its own user
        self.state = Path(self.temp.name) / "broker"
        self.export = Path(self.temp.name) / "broker-ca"
        self.export.mkdir()
        self.export.chmod(0o777)
        # Nothing answers there: these clients are refused before any lookup matters.
        self.env = {"BROKER_AUTH": "dane", "BROKER_NAME": "broker.danemq.test",
                    "BROKER_AUTH_PLUGIN": str(files.BINARY_DIR / "lib" / "danemq_mosquitto_auth.so"),
                    "BROKER_DNS_RESOLVER": f"127.0.0.1:{rig.free_port()}", "BROKER_DNSSEC_VALIDATION": "resolver",
                    "BROKER_CA_EXPORT_DIR": str(self.export)}
        self.broker = None

    def tearDown(self):
        if self.broker:
            self.broker.stop()
        self.temp.cleanup()

    def start(self, port=None):
        self.broker = rig.LocalBroker(self.state, port=port, env=self.env)

    def publish(self, *options):
        return subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(self.broker.port), "-t", "bob.danemq.test",
                               "-m", "FORGED", *options], capture_output=True, text=True, timeout=30)

    def test_makes_a_development_ca_once_and_keeps_it(self):
        self.start()
        tls = self.state / "tls"
        ca = (tls / "ca.crt").read_text()
        self.assertEqual((self.export / "ca.crt").read_text(), ca, "the clients' copy of the CA")
        self.assertEqual(sorted(p.name for p in self.export.iterdir()), ["ca.crt"], "a key was exported")
        for name in ("broker.danemq.test", "127.0.0.1"):
            done = subprocess.run(["openssl", "verify", "-CAfile", str(tls / "ca.crt"),
                                   *(["-verify_ip", name] if name[0].isdigit() else ["-verify_hostname", name]),
                                   str(tls / "broker.crt")], capture_output=True, text=True, timeout=30)
            self.assertEqual(done.returncode, 0, f"{name}: {done.stdout}{done.stderr}")
        certificate = (tls / "broker.crt").read_text()
        self.assertEqual(self.broker.stop(), 0, self.broker.output())
        self.start(port=self.broker.port)
        self.assertEqual((tls / "ca.crt").read_text(), ca, "the CA changed at a restart")
        self.assertEqual((tls / "broker.crt").read_text(), certificate, "the certificate changed at a restart")

    def test_uses_a_certificate_put_in_place_of_the_development_one(self):
        self.start()
        tls = self.state / "tls"
        self.assertEqual(self.broker.stop(), 0, self.broker.output())
        # Another CA and certificate, as a user would bring them.
        other = Path(self.temp.name) / "other"
        other.mkdir()
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-days", "30", "-subj", "/CN=broker.danemq.test", "-addext",
                        "subjectAltName=DNS:broker.danemq.test,IP:127.0.0.1", "-keyout", str(other / "broker.key"),
                        "-out", str(other / "broker.crt")], check=True, capture_output=True, timeout=30)
        for name in ("broker.crt", "broker.key"):
            (tls / name).write_bytes((other / name).read_bytes())
        (tls / "ca.crt").write_bytes((other / "broker.crt").read_bytes())
        (tls / "broker.names").unlink()
        self.env["BROKER_NAME"] = "renamed.danemq.test"  # would remake a development certificate
        self.start(port=self.broker.port)
        self.assertEqual((tls / "broker.crt").read_bytes(), (other / "broker.crt").read_bytes())
        done = self.publish("--cafile", str(other / "broker.crt"), "-u", "alice.danemq.test",
                            "-i", "alice.danemq.test/x", "-P", "not-a-token")
        self.assertIn("not authorised", done.stdout + done.stderr, "the TLS handshake failed with the user's CA")

    def test_listens_with_tls_only_and_refuses_clients_without_a_token(self):
        self.start()
        ca = str(self.state / "tls" / "ca.crt")
        anonymous = self.publish("--cafile", ca)
        self.assertNotEqual(anonymous.returncode, 0, "an anonymous client was admitted")
        self.assertIn("not authorised", anonymous.stdout + anonymous.stderr)
        forged = self.publish("--cafile", ca, "-u", "alice.danemq.test", "-i", "alice.danemq.test/x", "-P", "x.y.z")
        self.assertNotEqual(forged.returncode, 0, "a client without a valid token was admitted")
        self.assertIn("not authorised", forged.stdout + forged.stderr)
        plaintext = self.publish("-u", "alice.danemq.test", "-P", "x.y.z")
        self.assertNotEqual(plaintext.returncode, 0, "the listener spoke plain MQTT")
        self.assertIn("danemq auth: refused alice.danemq.test/x as alice.danemq.test", self.broker.output())

    def test_refuses_to_start_without_its_settings_or_its_plugin(self):
        for missing, expected in (("BROKER_NAME", "BROKER_NAME"), ("BROKER_DNS_RESOLVER", "BROKER_DNS_RESOLVER"),
                                  ("BROKER_AUTH_PLUGIN", "plugin")):
            env = {**self.env, "BROKER_STATE_DIR": str(self.state)}
            if missing == "BROKER_AUTH_PLUGIN":
                env[missing] = str(Path(self.temp.name) / "missing.so")
            else:
                del env[missing]
            done = subprocess.run([str(rig.RUN_BROKER)], env=files.clean_env(**env), capture_output=True, text=True,
                                  timeout=30)
            self.assertNotEqual(done.returncode, 0, missing)
            self.assertIn(expected, done.stderr, missing)


if __name__ == "__main__":
    files.run_tests()
