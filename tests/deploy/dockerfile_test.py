"""The Dockerfile, checked without a Docker engine: Debian's multi-arch base
only; every package from a deps/ list (one source of truth, read through
scripts/install-deps.sh) and every list a real Debian package set; the
service images non-root, with the original's command names on PATH (checked
on the tree `cmake --install` makes from this build, as the build stage
does), the libraries the built executables need covered by
deps/runtime.txt, and CMD/HEALTHCHECK naming real subcommands."""

import os
import re
import shlex
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import deploy_files as files  # noqa: E402

INSTALL_DEPS = "scripts/install-deps.sh"
# The broker's admission plugin, as `cmake --install` places it under the prefix.
PLUGIN_DIR = "lib/danemq"
PLUGIN = "danemq_mosquitto_auth.so"
# Runtime libraries of a sanitizer build (this suite also runs under ASan+UBSan).
SANITIZER_PACKAGES = {"libasan8", "libubsan1", "libtsan2", "liblsan0"}


def run(command, **kwargs):
    return subprocess.run(command, capture_output=True, text=True, timeout=120, **kwargs)


_installed = None


def installed_packages():
    """Installed package -> (priority, essential, depends): one dpkg-query for all."""
    global _installed
    if _installed is None:
        done = run(["dpkg-query", "-W", "-f=${Package}\\t${Status}\\t${Priority}\\t${Essential}\\t${Depends},${Pre-Depends}\\n"])
        _installed = {}
        for line in done.stdout.splitlines():
            package, status, priority, essential, depends = (line.split("\t") + [""] * 5)[:5]
            if status.endswith(" installed"):
                _installed[package] = (priority, essential == "yes", depends)
    return _installed


def known_to_apt(package):
    done = run(["apt-cache", "show", "--no-all-versions", package])
    return done.returncode == 0 and f"Package: {package}" in done.stdout


def packages_of(library_paths):
    """Library file -> the Debian package that ships it (usrmerge-aware), for
    all of them with one dpkg-query (each call reads every file list)."""
    candidates = {}
    for path in library_paths:
        real = os.path.realpath(path)
        names = {path, real}
        for name in list(names):
            if name.startswith("/usr/lib/"):
                names.add(name[len("/usr"):])
            elif name.startswith("/lib/"):
                names.add("/usr" + name)
        candidates[path] = names
    every = sorted(set().union(*candidates.values())) if candidates else []
    done = run(["dpkg-query", "-S", *every])
    owner = {}
    for line in done.stdout.splitlines():
        package, _, path = line.partition(": ")
        owner[path.strip()] = package.split(":")[0].strip()
    return {path: next((owner[n] for n in names if n in owner), None) for path, names in candidates.items()}


def depends_closure(packages):
    """The packages plus everything they (recursively) depend on, as installed here."""
    installed = installed_packages()
    seen, todo = set(), list(packages)
    while todo:
        package = todo.pop()
        if package in seen:
            continue
        seen.add(package)
        for clause in installed.get(package, ("", False, ""))[2].split(","):
            for alternative in clause.split("|"):
                name = alternative.strip().split(" ")[0].split(":")[0]
                if name:
                    todo.append(name)
    return seen


def required_packages():
    """Packages of priority required (or essential): present in every Debian base image."""
    return {name for name, (priority, essential, _) in installed_packages().items()
            if priority == "required" or essential}


class DockerfileStructure(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dockerfile = files.parse_dockerfile()
        cls.text = (files.SOURCE_DIR / "Dockerfile").read_text()

    def test_has_the_five_targets(self):
        names = [stage.name for stage in self.dockerfile.stages]
        for target in files.SERVICES + files.LOCAL_SERVICES + ("build", "runtime"):
            self.assertIn(target, names)
        self.assertEqual(len(names), len(set(names)), "stage names repeat")

    def test_bases_are_debian_bookworm_without_architecture(self):
        self.assertEqual(self.dockerfile.global_args.get("DEBIAN_RELEASE"), "bookworm")
        names = {stage.name for stage in self.dockerfile.stages}
        for stage in self.dockerfile.stages:
            self.assertEqual(stage.platform, "", f"{stage.name}: a fixed --platform defeats multi-arch builds")
            if stage.base in names:
                continue
            self.assertEqual(stage.base, "debian:${DEBIAN_RELEASE}", f"{stage.name}: base {stage.base}")
        self.assertNotIn("@sha256:", self.text, "a digest pins one architecture's image")
        self.assertIsNone(re.search(r"\b(amd64|arm64v8|arm32v7|arm32v6|i386|ppc64le|s390x)/", self.text),
                          "architecture-specific image names")
        self.assertNotRegex(self.text, r"\b(curl|wget|ADD\s+https?://)", "downloads outside apt")

    def test_installs_packages_only_from_the_deps_lists(self):
        lists_by_stage = {}
        for stage in self.dockerfile.stages:
            for instruction in stage.all("RUN"):
                command = instruction.arguments
                self.assertIsNone(re.search(r"\b(apt-get|apt|aptitude)\s+(-\S+\s+)*install\b|\bdpkg\s+-i\b", command),
                                  f"{stage.name} line {instruction.line}: packages named outside deps/")
                for match in re.finditer(r"\S*install-deps\.sh((?:\s+[a-z]+)+)", command):
                    lists_by_stage.setdefault(stage.name, []).extend(match.group(1).split())
        # The broker adds the services' libraries for its plugin.
        self.assertEqual(lists_by_stage, {"build": ["build"], "runtime": ["runtime"], "servers": ["servers"],
                                          "broker": ["runtime"]})
        for lists in lists_by_stage.values():
            for name in lists:
                self.assertTrue((files.SOURCE_DIR / "deps" / f"{name}.txt").is_file(), name)

    def test_each_stage_copies_the_lists_it_installs(self):
        for stage_name, list_name in (("build", "build"), ("runtime", "runtime"), ("servers", "servers"),
                                      ("broker", "runtime")):
            copies = " ".join(i.arguments for i in self.dockerfile.stage(stage_name).all("COPY"))
            self.assertRegex(copies, rf"deps/(\s|$)|deps/{list_name}\.txt", stage_name)
            self.assertIn(INSTALL_DEPS, copies, stage_name)

    def test_build_stage_runs_the_cmake_build_without_tests_and_installs(self):
        commands = " ".join(i.arguments for i in self.dockerfile.stage("build").all("RUN"))
        self.assertIn("-G Ninja", commands)
        self.assertIn("-DDANEMQ_BUILD_TESTS=OFF", commands)
        self.assertIn("-DDANEMQ_BUILD_BENCH=OFF", commands)
        self.assertRegex(commands, r"cmake --build /build")
        self.assertRegex(commands, r"cmake --install /build --prefix /usr/local")
        runtime_copies = " ".join(i.arguments for i in self.dockerfile.stage("runtime").all("COPY"))
        self.assertIn("--from=build /staging/usr/local/ /usr/local/", runtime_copies)

    def test_broker_ships_the_plugin_from_the_build_stage_and_runs_it(self):
        copies = " ".join(i.arguments for i in self.dockerfile.stage("broker").all("COPY"))
        self.assertIn(f"--from=build /staging/usr/local/{PLUGIN_DIR}/ /usr/local/{PLUGIN_DIR}/", copies)
        env = files.stage_env(self.dockerfile, "broker")
        self.assertEqual(env["BROKER_AUTH"], "dane")
        self.assertEqual(env["BROKER_AUTH_PLUGIN"], f"/usr/local/{PLUGIN_DIR}/{PLUGIN}")
        checks = " ".join(i.arguments for i in self.dockerfile.stage("broker").all("RUN"))
        self.assertIn(f"ldd /usr/local/{PLUGIN_DIR}/{PLUGIN}", checks, "the image build must check its libraries")
        # run-broker.sh's own default is the image's path.
        script = (files.SOURCE_DIR / "deploy" / "mosquitto" / "run-broker.sh").read_text()
        self.assertIn(f"BROKER_AUTH_PLUGIN:-/usr/local/{PLUGIN_DIR}/{PLUGIN}", script)

    def test_service_images_run_as_a_non_root_user(self):
        runtime_args = files.stage_args(self.dockerfile.stage("runtime"))
        self.assertIn("APP_UID", runtime_args)
        self.assertNotIn(runtime_args["APP_UID"], ("", "0"))
        for target in files.SERVICES + files.LOCAL_SERVICES:
            user = self.dockerfile.effective(target, "USER")
            self.assertIsNotNone(user, f"{target} runs as root")
            self.assertEqual(user.arguments, "${APP_UID}:${APP_UID}", target)

    def test_service_commands_are_the_long_running_ones(self):
        expected = {"maintenance": ["danemq-maintenance", "watch"], "sender": ["danemq-sender", "run"],
                    "receiver": ["danemq-receiver"]}
        for target, command in expected.items():
            cmd = self.dockerfile.effective(target, "CMD")
            self.assertEqual(cmd.exec_form(), command, target)
            self.assertIsNone(self.dockerfile.effective(target, "ENTRYPOINT"),
                              f"{target}: an ENTRYPOINT would break `docker-compose run {target} <command>`")

    def test_receiver_health_check_asks_the_receiver(self):
        health = self.dockerfile.effective("receiver", "HEALTHCHECK")
        self.assertIsNotNone(health)
        self.assertEqual(health.exec_form(), ["danemq-receiver", "health"])

    def test_identity_and_data_are_volumes_with_the_originals_path(self):
        volumes = " ".join(i.arguments for i in self.dockerfile.stage("runtime").all("VOLUME"))
        self.assertIn('"/identity"', volumes)
        self.assertIn('"/data"', volumes)
        env = files.stage_env(self.dockerfile, "receiver")
        self.assertEqual(env["CRYPTO_PATH"], "/identity/")
        self.assertEqual(env["DATA_PATH"], "/data/")

    def test_the_image_build_checks_the_command_names_it_promises(self):
        checks = " ".join(i.arguments for i in self.dockerfile.stage("runtime").all("RUN"))
        for command in files.EXECUTABLES + files.ORIGINAL_COMMANDS:
            self.assertIn(command, checks, f"the runtime stage does not check {command} is on PATH")


class DependencyLists(unittest.TestCase):
    def test_every_listed_package_is_a_debian_package(self):
        for list_name in ("build", "runtime", "servers", "test"):
            for package in files.read_deps_list(list_name):
                self.assertTrue(package in installed_packages() or known_to_apt(package),
                                f"deps/{list_name}.txt: {package} is neither installed nor known to apt")

    def test_lists_repeat_no_package(self):
        for list_name in ("build", "runtime", "servers", "test"):
            packages = files.read_deps_list(list_name)
            self.assertEqual(len(packages), len(set(packages)), list_name)

    def test_local_servers_are_the_test_rigs_components(self):
        test = set(files.read_deps_list("test"))
        for package in files.read_deps_list("servers"):
            self.assertIn(package, test, f"{package} serves the local stack but the tests never run it")

    def test_install_deps_reads_the_lists_it_is_given(self):
        script = (files.SOURCE_DIR / INSTALL_DEPS).read_text()
        self.assertIn('deps/$list.txt', script)


@unittest.skipUnless(files.BINARY_DIR, "needs DANEMQ_BINARY_DIR (run through ctest)")
class BuiltExecutables(unittest.TestCase):
    """What `cmake --install` makes of this build: the tree the image gets."""

    @classmethod
    def setUpClass(cls):
        cls.prefix_dir = tempfile.TemporaryDirectory(prefix="danemq-install-")
        cls.prefix = Path(cls.prefix_dir.name)
        done = run(["cmake", "--install", str(files.BINARY_DIR), "--prefix", str(cls.prefix)])
        cls.install_error = None if done.returncode == 0 else done.stdout + done.stderr

    @classmethod
    def tearDownClass(cls):
        cls.prefix_dir.cleanup()

    def setUp(self):
        if self.install_error:
            self.fail("cmake --install into a fresh prefix failed; the Dockerfile's build stage runs the same "
                      f"command, so the images would not build:\n{self.install_error}")

    def test_install_puts_the_services_and_the_original_command_names_in_bin(self):
        bin_dir = self.prefix / "bin"
        for command in files.EXECUTABLES + files.ORIGINAL_COMMANDS:
            self.assertTrue(os.access(bin_dir / command, os.X_OK), f"{command} is not installed in bin/")
        aliases = {"create_selfsigned_id": "danemq-maintenance", "create_id_csr": "danemq-maintenance",
                   "generate_tlsa": "danemq-maintenance", "send_message": "danemq-sender"}
        for alias, target in aliases.items():
            self.assertEqual((bin_dir / alias).resolve(), (bin_dir / target).resolve(), alias)

    def test_install_puts_the_broker_plugin_where_the_broker_image_takes_it(self):
        self.assertTrue((self.prefix / PLUGIN_DIR / PLUGIN).is_file(), f"{PLUGIN} is not installed in {PLUGIN_DIR}/")

    def test_runtime_list_covers_every_library_the_services_and_the_plugin_load(self):
        covered = depends_closure(files.read_deps_list("runtime")) | required_packages() | SANITIZER_PACKAGES
        needed = {}  # library -> the executables loading it
        for executable in [f"bin/{name}" for name in files.EXECUTABLES] + [f"{PLUGIN_DIR}/{PLUGIN}"]:
            done = run(["ldd", str(self.prefix / executable)])
            self.assertEqual(done.returncode, 0, done.stderr)
            for line in done.stdout.splitlines():
                self.assertNotIn("not found", line, f"{executable}: {line.strip()}")
                match = re.search(r"=>\s+(/\S+)", line)
                if match:
                    needed.setdefault(match.group(1), []).append(executable)
        self.assertTrue(needed, "ldd listed no library")
        for library, package in packages_of(needed).items():
            self.assertIsNotNone(package, f"{library} (for {needed[library]}) belongs to no Debian package")
            self.assertTrue(package in covered,
                            f"{needed[library]} load {library} from {package}, missing in deps/runtime.txt")

    def test_image_commands_name_real_subcommands(self):
        for target in files.SERVICES:
            dockerfile = files.parse_dockerfile()
            for keyword in ("CMD", "HEALTHCHECK"):
                instruction = dockerfile.effective(target, keyword)
                if not instruction or not instruction.exec_form():
                    continue
                command = instruction.exec_form()
                program = self.prefix / "bin" / command[0]
                done = run([str(program), *command[1:], "--help"],
                           env=files.clean_env(IDENTITY_NAME="help.example.net", MQTT_HOST="127.0.0.1"))
                self.assertEqual(done.returncode, 0,
                                 f"{target} {keyword} {shlex.join(command)}: --help exits {done.returncode}\n"
                                 f"{done.stdout}{done.stderr}")
                # --help of an unknown subcommand prints the program's help: the
                # usage line must be the subcommand's own.
                self.assertIn(f"Usage: {shlex.join(command)} [OPTIONS]", done.stdout + done.stderr,
                              f"{target} {keyword}: {shlex.join(command)} is not a subcommand")


if __name__ == "__main__":
    files.run_tests()
