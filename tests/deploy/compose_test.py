"""docker-compose.yml and balena.yml, checked without a Docker engine:
docker-compose (Debian's 1.29) validates and resolves the file, with and
without the `local` profile; the result must wire the three services as the
original did and the local servers as deploy/local.env says; balena.yml must
carry the fleet metadata Balena needs."""

import ipaddress
import sys
import unittest
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import deploy_files as files  # noqa: E402

LOCAL_ENV = files.SOURCE_DIR / "deploy" / "local.env"

# Fields the Balena supervisor does not support (its docker-compose reference):
# a composition using them is refused or misbehaves on the fleet.
BALENA_UNSUPPORTED_SERVICE_FIELDS = {
    "container_name", "cpu_count", "cpu_percent", "cpus", "external_links", "isolation", "links", "logging",
    "memswap_limit", "mem_swappiness", "runtime", "scale", "stdin_open", "tty", "volume_driver", "volumes_from",
    "secrets", "configs",
}


def named_volumes(service):
    """container path -> volume name; fails on a bind mount (Balena refuses them)."""
    mounts = {}
    for entry in service.get("volumes", []):
        source, target = entry.split(":")[0], entry.split(":")[1]
        if source.startswith((".", "/", "~")):
            raise AssertionError(f"bind mount {entry!r}: Balena supports named volumes only")
        mounts[target.rstrip("/") or "/"] = source
    return mounts


class ComposeFile(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.plain = files.compose_config()
        cls.with_identity = files.compose_config(environment={"IDENTITY_NAME": "abc123._device.example.net"})
        cls.local = files.compose_config(env_file=LOCAL_ENV, profiles=("local",),
                                         environment={"IDENTITY_NAME": "alice.danemq.test"})
        cls.dockerfile = files.parse_dockerfile()
        cls.raw = yaml.safe_load((files.SOURCE_DIR / "docker-compose.yml").read_text())

    def test_defines_the_three_services_and_the_local_servers(self):
        self.assertEqual(set(self.plain["services"]), set(files.SERVICES) | set(files.LOCAL_SERVICES))

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
        self.assertIn("identity", self.plain["volumes"])
        self.assertIn("data", self.plain["volumes"])
        # The raw file mounts the identity at /identity/ exactly as the original.
        for name in files.SERVICES:
            self.assertIn("identity:/identity/", self.raw["services"][name]["volumes"], name)

    def test_the_originals_settings_have_the_originals_defaults(self):
        for name in files.SERVICES:
            env = self.plain["services"][name]["environment"]
            self.assertEqual(env["MQTT_HOST"], "broker.hivemq.com", name)
            self.assertEqual(str(env["MQTT_PORT"]), "1883", name)
            self.assertEqual(env["CRYPTO_PATH"], "/identity/", name)
            self.assertEqual(env["DATA_PATH"], "/data/", name)

    def test_identity_name_comes_from_the_shell(self):
        for name in files.SERVICES:
            self.assertIsNone(self.plain["services"][name]["environment"]["IDENTITY_NAME"],
                              f"{name}: IDENTITY_NAME must be passed through, not fixed")
            self.assertEqual(self.with_identity["services"][name]["environment"]["IDENTITY_NAME"],
                             "abc123._device.example.net", name)

    def test_settings_follow_the_shell_and_unset_ones_stay_unset(self):
        overridden = files.compose_config(environment={"MQTT_HOST": "mqtt.example.net", "MQTT_PORT": "8883",
                                                       "MQTT_TLS_CA_FILE": "/identity/AmazonRootCA1.pem"})
        for name in files.SERVICES:
            env = overridden["services"][name]["environment"]
            self.assertEqual(env["MQTT_HOST"], "mqtt.example.net")
            self.assertEqual(str(env["MQTT_PORT"]), "8883")
            self.assertEqual(env["MQTT_TLS_CA_FILE"], "/identity/AmazonRootCA1.pem")
            # Not set in the shell: passed as a bare name, which Docker leaves unset,
            # so the service's own default applies (an empty value would be invalid).
            self.assertIsNone(env["DNS_RESOLVER"])
            self.assertIsNone(env["MQTT_PASSWORD"])

    def test_only_maintenance_gets_the_dns_update_key(self):
        self.assertIn("DNS_UPDATE_TSIG", self.plain["services"]["maintenance"]["environment"])
        for name in ("receiver", "sender"):
            self.assertNotIn("DNS_UPDATE_TSIG", self.plain["services"][name]["environment"], name)

    def test_the_local_servers_run_only_with_the_local_profile(self):
        for name in files.SERVICES:
            self.assertNotIn("profiles", self.plain["services"][name], name)
        for name in files.LOCAL_SERVICES:
            self.assertEqual(self.plain["services"][name].get("profiles"), ["local"], name)
        self.assertEqual(files.read_env_file(LOCAL_ENV).get("COMPOSE_PROFILES"), "local")

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
            self.assertEqual(env["MQTT_HOST"], "broker", "MQTT_HOST must name the broker service")
            self.assertEqual(str(env["MQTT_PORT"]), broker_image_env["BROKER_PORT"])
            self.assertEqual(env["DNS_RESOLVER"], f"{dns_address}:{dns_image_env['UNBOUND_PORT']}")
            self.assertEqual(env["DNSSEC_VALIDATION"], "resolver")
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

    def test_balena_never_runs_the_local_servers(self):
        # Balena's supervisor ignores profiles; an optional service whose
        # requirement no device meets is skipped instead.
        for name in files.LOCAL_SERVICES:
            labels = self.plain["services"][name].get("labels", {})
            self.assertEqual(labels.get("io.balena.features.optional"), "1", name)
            self.assertEqual(labels.get("io.balena.features.requires.sw.supervisor"), "<1.0.0", name)
        for name in files.SERVICES:
            labels = self.plain["services"][name].get("labels", {})
            self.assertFalse(any(key.startswith("io.balena.features.requires") for key in labels), name)

    def test_uses_no_field_balena_refuses(self):
        for name, service in self.raw["services"].items():
            self.assertFalse(BALENA_UNSUPPORTED_SERVICE_FIELDS & set(service), name)
            named_volumes(service)
            depends = service.get("depends_on", [])
            self.assertIsInstance(depends, list, f"{name}: Balena takes depends_on in array form only")


class BalenaFile(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        path = files.SOURCE_DIR / "balena.yml"
        cls.fleet = yaml.safe_load(path.read_text())
        cls.compose = files.compose_config()
        cls.dockerfile = files.parse_dockerfile()

    def test_lies_next_to_the_compose_file_balena_builds(self):
        self.assertTrue((files.SOURCE_DIR / "balena.yml").is_file())
        self.assertTrue((files.SOURCE_DIR / "docker-compose.yml").is_file())

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

    def test_default_variables_are_the_originals_and_agree_with_the_compose_file(self):
        variables = {}
        for entry in self.fleet["data"]["applicationEnvironmentVariables"]:
            self.assertIsInstance(entry, dict)
            self.assertEqual(len(entry), 1, "one variable per list entry")
            variables.update(entry)
        self.assertEqual(set(variables), {"MQTT_HOST", "MQTT_PORT", "CRYPTO_PATH"})
        for service in files.SERVICES:
            env = self.compose["services"][service]["environment"]
            for key, value in variables.items():
                self.assertEqual(str(env[key]), str(value), f"{service}: {key}")
        self.assertEqual(files.stage_env(self.dockerfile, "maintenance")["CRYPTO_PATH"], variables["CRYPTO_PATH"])
        # The identity is per device: never a fleet default.
        self.assertNotIn("IDENTITY_NAME", variables)


if __name__ == "__main__":
    files.run_tests()
