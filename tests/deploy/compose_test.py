"""docker-compose.yml, docker-compose.local.yml and balena.yml, checked
without a Docker engine:
- docker-compose.yml is what Balena builds: Balena's own parser
  (@balena/compose, installed by scripts/install-node-deps.sh) accepts it,
  and it uses only the fields Balena documents as supported, no
  interpolation, no extension fields, no profiles, named volumes only;
- docker-compose (Debian's 1.29) validates both files;
- every setting of the option tables (danemq-settings-table --list) reaches
  the services that read it in the local stack, from the shell;
- balena.yml carries the fleet metadata Balena needs."""

import ipaddress
import json
import os
import subprocess
import sys
import unittest
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import deploy_files as files  # noqa: E402

LOCAL_ENV = files.SOURCE_DIR / "deploy" / "local.env"
BALENA_COMPOSE = files.SOURCE_DIR / "docker-compose.yml"
NODE_DIR = Path(os.environ.get("DANEMQ_NODE_DIR", files.SOURCE_DIR / "build" / "node"))
SETTINGS_TABLE = os.environ.get("DANEMQ_SETTINGS_TABLE", str(files.BINARY_DIR / "bin" / "danemq-settings-table"))

# Balena's reference page "docker-compose.yml fields"
# (https://docs.balena.io/reference/supervisor/docker-compose/): "Our
# compose-file support is currently based on version 2.4", its table of
# supported service fields (below), networks "Only support specifying network
# names", volumes "Only support short syntax and named volumes", depends_on
# "Only array form", and "variable substitution" among the known unsupported
# features.
BALENA_SUPPORTED_SERVICE_FIELDS = {
    "build", "cap_add", "cap_drop", "cgroup_parent", "command", "cpu_shares", "cpu_quota", "cpuset", "devices",
    "depends_on", "dns", "dns_opt", "dns_search", "domainname", "entrypoint", "environment", "expose",
    "extra_hosts", "group_add", "healthcheck", "hostname", "image", "ipc", "labels", "mac_address", "mem_limit",
    "mem_reservation", "network_mode", "networks", "oom_kill_disable", "oom_score_adj", "pid", "pids_limit", "ports",
    "privileged", "read_only", "restart", "security_opt", "shm_size", "stop_grace_period", "stop_signal", "sysctls",
    "tmpfs", "ulimits", "user", "userns_mode", "volumes", "working_dir",
}
BALENA_SUPPORTED_BUILD_FIELDS = {
    "context", "dockerfile", "args", "cache_from", "extra_hosts", "labels", "shm_size", "target",
}
BALENA_NETWORK_MODES = {"bridge", "host", "none"}  # and service:<name>

# Settings the local stack does not pass, on purpose: one MQTT client id
# shared by the receiver and the sender would make the broker disconnect one
# for the other (each derives its own from IDENTITY_NAME).
NOT_PASSED = {"MQTT_CLIENT_ID"}
# The TSIG key may change the device's zone: `maintenance` only (the settings
# table has it for maintenance only; this says it must stay so).
MAINTENANCE_ONLY = {"DNS_UPDATE_TSIG", "DNS_UPDATE_TSIG_FILE"}
SERVICE_LETTERS = {"maintenance": "m", "receiver": "r", "sender": "s"}


def named_volumes(service):
    """container path -> volume name; fails on a bind mount (Balena refuses them)."""
    mounts = {}
    for entry in service.get("volumes", []):
        if not isinstance(entry, str):
            raise AssertionError(f"volume {entry!r}: Balena supports the short syntax only")
        source, target = entry.split(":")[0], entry.split(":")[1]
        if source.startswith((".", "/", "~")):
            raise AssertionError(f"bind mount {entry!r}: Balena supports named volumes only")
        mounts[target.rstrip("/") or "/"] = source
    return mounts


def settings_table():
    """{variable: letters of the services that read it} from the option tables."""
    if not Path(SETTINGS_TABLE).is_file():
        raise AssertionError(f"{SETTINGS_TABLE} is missing: build the target danemq-settings-table")
    done = subprocess.run([SETTINGS_TABLE, "--list"], capture_output=True, text=True, timeout=30, check=True)
    table = {}
    for line in done.stdout.splitlines():
        name, letters = line.split()
        table[name] = letters
    if "MQTT_HOST" not in table or "IDENTITY_NAME" not in table:
        raise AssertionError(f"danemq-settings-table --list gave no settings:\n{done.stdout}")
    return table


class BalenaComposeFile(unittest.TestCase):
    """docker-compose.yml as Balena's supervisor reads it."""

    @classmethod
    def setUpClass(cls):
        cls.text = BALENA_COMPOSE.read_text()
        cls.raw = yaml.safe_load(cls.text)
        cls.plain = files.compose_config()
        cls.dockerfile = files.parse_dockerfile()

    def test_is_compose_format_2_4(self):
        self.assertEqual(self.raw.get("version"), "2.4")

    def test_defines_the_three_services_only(self):
        self.assertEqual(set(self.raw["services"]), set(files.SERVICES))
        self.assertEqual(set(self.raw), {"version", "services", "volumes"})

    def test_uses_no_interpolation_no_extension_and_no_anchor(self):
        body = "\n".join(line for line in self.text.splitlines() if not line.lstrip().startswith("#"))
        self.assertNotIn("$", body, "Balena does not substitute variables")
        self.assertNotRegex(body, r"[&*<]", "anchors and merges make a reader of the file guess")
        self.assertFalse([key for key in self.raw if key.startswith("x-")])

    def test_uses_only_the_fields_balena_documents_as_supported(self):
        for name, service in self.raw["services"].items():
            self.assertLessEqual(set(service), BALENA_SUPPORTED_SERVICE_FIELDS, name)
            self.assertLessEqual(set(service.get("build", {})), BALENA_SUPPORTED_BUILD_FIELDS, name)
            named_volumes(service)
            self.assertIsInstance(service.get("depends_on", []), list, f"{name}: depends_on in array form only")
            networks = service.get("networks", [])
            self.assertIsInstance(networks, list, f"{name}: networks by name only")
            mode = service.get("network_mode")
            if mode is not None:
                self.assertTrue(mode in BALENA_NETWORK_MODES or mode.startswith("service:"), name)

    def test_sets_no_empty_variable(self):
        # Balena's parser turns a name without a value into an empty value,
        # which the services refuse: settings come from device variables.
        for name, service in self.raw["services"].items():
            for key, value in service.get("environment", {}).items():
                self.assertIsNotNone(value, f"{name}: {key} without a value")
                self.assertNotEqual(str(value), "", f"{name}: {key} is empty")

    def test_builds_each_service_from_its_dockerfile_target(self):
        stage_names = {stage.name for stage in self.dockerfile.stages}
        for name, service in self.plain["services"].items():
            build = service["build"]
            self.assertEqual(Path(build["context"]).resolve(), files.SOURCE_DIR.resolve(), name)
            self.assertEqual(build.get("dockerfile", "Dockerfile"), "Dockerfile", name)
            self.assertEqual(build["target"], name, f"{name} builds another target")
            self.assertIn(build["target"], stage_names, f"no stage {build['target']!r} in the Dockerfile")

    def test_every_service_restarts_always(self):
        for name, service in self.plain["services"].items():
            self.assertEqual(service.get("restart"), "always", name)

    def test_the_three_services_share_the_identity_and_data_volumes(self):
        for name in files.SERVICES:
            mounts = named_volumes(self.plain["services"][name])
            self.assertEqual(mounts.get("/identity"), "identity", f"{name}: identity volume at /identity/")
            self.assertEqual(mounts.get("/data"), "data", f"{name}: data volume at /data")
            # Mounted at /identity/ exactly as the original.
            self.assertIn("identity:/identity/", self.raw["services"][name]["volumes"], name)
        self.assertEqual(set(self.raw["volumes"]), {"identity", "data"})

    def test_fixes_only_the_volume_paths(self):
        for name in files.SERVICES:
            env = self.plain["services"][name]["environment"]
            self.assertEqual(env, {"CRYPTO_PATH": "/identity/", "DATA_PATH": "/data/"}, name)


class BalenaParser(unittest.TestCase):
    """Balena's own compose parser, @balena/compose 7.4.1 (parse.normalize)."""

    @classmethod
    def setUpClass(cls):
        installed = subprocess.run([str(files.SOURCE_DIR / "scripts" / "install-node-deps.sh"), str(NODE_DIR)],
                                   capture_output=True, text=True, timeout=600)
        cls.unavailable = None
        if installed.returncode == 2:
            cls.unavailable = installed.stderr.strip()
        elif installed.returncode != 0:
            raise AssertionError(f"scripts/install-node-deps.sh failed:\n{installed.stdout}{installed.stderr}")

    def setUp(self):
        if self.unavailable:
            self.skipTest(self.unavailable)

    def normalize(self, composition):
        done = subprocess.run(["node", str(Path(__file__).resolve().parent / "balena_normalize.cjs")],
                              input=json.dumps(composition), capture_output=True, text=True, timeout=60,
                              env={**files.clean_env(), "NODE_PATH": str(NODE_DIR / "node_modules")})
        return done

    def test_accepts_the_compose_file(self):
        done = self.normalize(yaml.safe_load(BALENA_COMPOSE.read_text()))
        self.assertEqual(done.returncode, 0, done.stderr)
        normalized = json.loads(done.stdout)
        self.assertEqual(set(normalized["services"]), set(files.SERVICES))
        for name, service in normalized["services"].items():
            self.assertEqual(service["build"]["target"], name)
            for key, value in service.get("environment", {}).items():
                self.assertNotIn("$", value, f"{name}: {key}")

    def test_refuses_what_the_previous_file_used(self):
        # The parser is strict where Balena is: without it, this test would
        # pass anything.
        base = yaml.safe_load(BALENA_COMPOSE.read_text())
        broker = {"image": "eclipse-mosquitto"}
        refused = {
            "no version (read as format 1)": {key: value for key, value in base.items() if key != "version"},
            "profiles": {**base, "services": {**base["services"], "broker": {**broker, "profiles": ["local"]}}},
            "a bind mount": {**base, "services": {**base["services"], "broker": {**broker, "volumes": ["./x:/x"]}}},
        }
        for what, composition in refused.items():
            done = self.normalize(composition)
            self.assertNotEqual(done.returncode, 0, f"{what} accepted")

    def test_passes_interpolation_through_as_text(self):
        # Why the file itself must not interpolate (checked above): Balena
        # would give the service the literal text.
        base = yaml.safe_load(BALENA_COMPOSE.read_text())
        base["services"]["receiver"]["environment"]["MQTT_HOST"] = "${MQTT_HOST:-broker.hivemq.com}"
        done = self.normalize(base)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(json.loads(done.stdout)["services"]["receiver"]["environment"]["MQTT_HOST"],
                         "${MQTT_HOST:-broker.hivemq.com}")


class LocalStack(unittest.TestCase):
    """docker-compose.yml with docker-compose.local.yml, as a developer runs it."""

    @classmethod
    def setUpClass(cls):
        cls.local = files.compose_config(env_file=LOCAL_ENV, local=True,
                                         environment={"IDENTITY_NAME": "alice.danemq.test"})
        cls.dockerfile = files.parse_dockerfile()

    def test_adds_the_local_servers(self):
        self.assertEqual(set(self.local["services"]), set(files.SERVICES) | set(files.LOCAL_SERVICES))
        for name in files.LOCAL_SERVICES:
            self.assertEqual(self.local["services"][name]["build"]["target"], name)
            self.assertEqual(self.local["services"][name].get("restart"), "always", name)

    def test_local_env_points_the_services_at_the_local_servers(self):
        local_env = files.read_env_file(LOCAL_ENV)
        services = self.local["services"]
        subnet = ipaddress.ip_network(self.local["networks"]["default"]["ipam"]["config"][0]["subnet"])
        dns_address = services["dns"]["networks"]["default"]["ipv4_address"]
        broker_address = services["broker"]["networks"]["default"]["ipv4_address"]
        self.assertIn(ipaddress.ip_address(dns_address), subnet)
        self.assertIn(ipaddress.ip_address(broker_address), subnet)
        dns_image_env = files.stage_env(self.dockerfile, "dns")
        broker_image_env = files.stage_env(self.dockerfile, "broker")
        for name in files.SERVICES:
            env = services[name]["environment"]
            self.assertEqual(env["IDENTITY_NAME"], "alice.danemq.test")
            self.assertEqual(env["DNS_RESOLVER"], f"{dns_address}:{dns_image_env['UNBOUND_PORT']}")
            # The local zone is not under the root and its resolver is not on
            # loopback: only this development stack trusts it.
            self.assertEqual(str(env["DNSSEC_TRUST_RESOLVER"]), "1", name)
            self.assertEqual(env["CRYPTO_PATH"], "/identity/", name)
        for name in ("receiver", "sender"):
            env = services[name]["environment"]
            self.assertEqual(env["MQTT_HOST"], "broker", "MQTT_HOST must name the broker service")
            self.assertEqual(str(env["MQTT_PORT"]), broker_image_env["BROKER_PORT"])
        maintenance = services["maintenance"]["environment"]
        self.assertEqual(maintenance["DNS_UPDATE_SERVER"], f"{dns_address}:{dns_image_env['KNOT_PORT']}")
        self.assertEqual(maintenance["DNS_UPDATE_TSIG"], local_env["DNS_UPDATE_TSIG"])
        # The DNS server signs updates with the very key publish-tlsa uses,
        # and lets the project network ask it.
        dns_env = services["dns"]["environment"]
        self.assertEqual(dns_env["DNS_UPDATE_TSIG"], local_env["DNS_UPDATE_TSIG"])
        self.assertEqual(ipaddress.ip_network(dns_env["DNS_ACCESS"]), subnet)
        algorithm, key_name, secret = local_env["DNS_UPDATE_TSIG"].split(":", 2)
        self.assertEqual(algorithm, "hmac-sha256")
        self.assertTrue(key_name and len(secret) >= 40, "a 256-bit base64 secret")

    def test_the_broker_admits_the_services_by_dns_over_tls(self):
        services = self.local["services"]
        broker = services["broker"]
        broker_env = {**files.stage_env(self.dockerfile, "broker"),
                      **{k: str(v) for k, v in broker["environment"].items() if v is not None}}
        self.assertEqual(broker_env["BROKER_AUTH"], "dane")
        broker_mounts = {m.split(":")[1]: m.split(":") for m in broker["volumes"]}
        # The plugin asks the stack's resolver and validates the zone from
        # the anchor the DNS server writes in its volume, read-only here.
        self.assertEqual(broker_env["BROKER_DNS_RESOLVER"], services["receiver"]["environment"]["DNS_RESOLVER"])
        self.assertEqual(broker_env["BROKER_DNSSEC_VALIDATION"], "local",
                         "the plugin trusts a resolver's AD bit on loopback only")
        dns_state = files.stage_env(self.dockerfile, "dns")["DNS_STATE_DIR"]
        self.assertEqual(broker_env["BROKER_DNSSEC_TRUST_ANCHOR"], f"{dns_state}/trust-anchor")
        self.assertEqual(broker_mounts[dns_state][0], "dns-data")
        self.assertEqual(broker_mounts[dns_state][-1], "ro")
        ca_export = broker_env["BROKER_CA_EXPORT_DIR"]
        self.assertEqual(broker_mounts[ca_export][0], "broker-ca")
        for name in ("receiver", "sender"):
            env = services[name]["environment"]
            self.assertEqual(env["MQTT_AUTH"], "dane", name)
            # The token's audience (default: the first host of MQTT_HOST) is the broker's name.
            self.assertEqual(env.get("MQTT_AUTH_AUDIENCE") or env["MQTT_HOST"].split(",")[0], broker_env["BROKER_NAME"])
            mounts = {m.split(":")[1]: m.split(":") for m in services[name]["volumes"]}
            ca_dir, ca_file = env["MQTT_TLS_CA_FILE"].rsplit("/", 1)
            self.assertEqual(ca_file, "ca.crt", name)
            self.assertEqual(mounts[ca_dir][0], "broker-ca", f"{name} does not see the broker's CA")
            self.assertEqual(mounts[ca_dir][-1], "ro", name)
            self.assertIn("broker", services[name].get("depends_on", {}), f"{name}: the broker fills broker-ca first")
        self.assertNotIn("broker-ca", {m.split(":")[0] for m in services["maintenance"].get("volumes", [])})

    def test_the_local_env_file_needs_no_profile(self):
        self.assertNotIn("COMPOSE_PROFILES", files.read_env_file(LOCAL_ENV))


class SettingsPassthrough(unittest.TestCase):
    """Every setting of the option tables can be set from the shell locally
    (and, on Balena, as a device or fleet variable, which the supervisor gives
    every service whatever the file says)."""

    @classmethod
    def setUpClass(cls):
        cls.table = settings_table()
        cls.unset = files.compose_config(local=True)
        given = {name: "given-" + name.lower() for name in cls.table}
        cls.given = given
        cls.from_shell = files.compose_config(local=True, environment=given)

    def test_every_setting_reaches_the_services_that_read_it(self):
        for name, letters in self.table.items():
            for service, letter in SERVICE_LETTERS.items():
                env = self.from_shell["services"][service]["environment"]
                if name in NOT_PASSED or (name in MAINTENANCE_ONLY and service != "maintenance"):
                    self.assertNotIn(name, env, f"{service} must not get {name}")
                    continue
                if letter not in letters:
                    continue
                self.assertIn(name, env, f"{name} (read by {service}) does not reach it: add it to "
                                         "docker-compose.local.yml")
                if name == "DNSSEC_TRUST_RESOLVER":
                    # Fixed by the local stack: its resolver is not on loopback.
                    self.assertEqual(str(env[name]), "1", f"{service}: {name}")
                elif name not in ("CRYPTO_PATH", "DATA_PATH"):
                    self.assertEqual(str(env[name]), self.given[name], f"{service}: {name} from the shell")

    def test_unset_settings_stay_unset(self):
        # Passed as a bare name, which Docker leaves unset, so the service's
        # own default applies (an empty value would be invalid).
        for service in files.SERVICES:
            env = self.unset["services"][service]["environment"]
            for name in ("MQTT_HOST", "DNS_RESOLVER", "MQTT_PASSWORD", "ACCEPT_LEGACY"):
                if name in env:
                    self.assertIsNone(env[name], f"{service}: {name}")

    def test_passes_no_name_that_is_not_a_setting(self):
        # A typo would pass nothing.
        known = set(self.table)
        for service in files.SERVICES:
            unknown = set(self.from_shell["services"][service]["environment"]) - known
            self.assertFalse(unknown, f"{service}: not settings: {sorted(unknown)}")


class BalenaFile(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        path = files.SOURCE_DIR / "balena.yml"
        cls.fleet = yaml.safe_load(path.read_text())
        cls.compose = files.compose_config()
        cls.dockerfile = files.parse_dockerfile()
        cls.table = settings_table()

    def test_lies_next_to_the_compose_file_balena_builds(self):
        self.assertTrue((files.SOURCE_DIR / "balena.yml").is_file())
        self.assertTrue(BALENA_COMPOSE.is_file())

    def test_has_the_required_metadata(self):
        self.assertEqual(self.fleet.get("type"), "sw.application")
        self.assertIsInstance(self.fleet.get("name"), str)
        self.assertTrue(self.fleet["name"].strip())
        self.assertIsInstance(self.fleet.get("description"), str)
        self.assertGreater(len(self.fleet["description"]), 40)
        self.assertRegex(str(self.fleet.get("version")), r"^\d+\.\d+\.\d+$")

    def test_supports_raspberry_pi_3_4_5_and_other_arm64_boards(self):
        supported = self.fleet["data"]["supportedDeviceTypes"]
        for device_type in ("raspberrypi3", "raspberrypi3-64", "raspberrypi4-64", "raspberrypi5", "generic-aarch64"):
            self.assertIn(device_type, supported)
        self.assertEqual(len(supported), len(set(supported)), "duplicate device types")
        self.assertIn(self.fleet["data"]["defaultDeviceType"], supported)

    def test_default_variables_are_settings_and_agree_with_the_compose_file(self):
        variables = {}
        for entry in self.fleet["data"]["applicationEnvironmentVariables"]:
            self.assertIsInstance(entry, dict)
            self.assertEqual(len(entry), 1, "one variable per list entry")
            variables.update(entry)
        self.assertLessEqual(set(variables), set(self.table))
        for service in files.SERVICES:
            env = self.compose["services"][service]["environment"]
            for key, value in variables.items():
                if key in env:
                    self.assertEqual(str(env[key]), str(value), f"{service}: {key}")
        self.assertEqual(files.stage_env(self.dockerfile, "maintenance")["CRYPTO_PATH"], variables["CRYPTO_PATH"])
        # The identity is per device, and the broker is the user's choice
        # (no public broker by default): never fleet defaults.
        self.assertNotIn("IDENTITY_NAME", variables)
        self.assertNotIn("MQTT_HOST", variables)
        # The TSIG key is a secret for one service, never a fleet-wide default.
        self.assertFalse(MAINTENANCE_ONLY & set(variables))


if __name__ == "__main__":
    files.run_tests()
