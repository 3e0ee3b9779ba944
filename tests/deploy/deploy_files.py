"""Readers of the deployment files for the tests in tests/deploy: the
Dockerfile (stages and instructions), the deps/ lists, docker-compose's
resolved configuration, and the places the tests find things in.

Only Debian's python3 modules are used (python3-yaml), run by /usr/bin/python3.
"""

import json
import os
import re
import shlex
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import yaml

SOURCE_DIR = Path(os.environ.get("DANEMQ_SOURCE_DIR") or Path(__file__).resolve().parents[2])
BINARY_DIR = Path(os.environ["DANEMQ_BINARY_DIR"]) if os.environ.get("DANEMQ_BINARY_DIR") else None

SERVICES = ("maintenance", "receiver", "sender")
LOCAL_SERVICES = ("broker", "dns")
# The original's command names, which the images must put on PATH.
ORIGINAL_COMMANDS = ("create_selfsigned_id", "create_id_csr", "generate_tlsa", "send_message")
EXECUTABLES = ("danemq-maintenance", "danemq-sender", "danemq-receiver")


@dataclass
class Instruction:
    keyword: str  # upper case: RUN, COPY, ...
    arguments: str  # the rest of the (joined) line
    line: int  # 1-based line number of its first line

    def exec_form(self):
        """The JSON array of a CMD/ENTRYPOINT/HEALTHCHECK CMD, or None for the shell form."""
        text = self.arguments.strip()
        if self.keyword == "HEALTHCHECK":
            match = re.search(r"\bCMD\s+(.*)$", text, re.S)
            if not match:
                return None
            text = match.group(1).strip()
        if text.startswith("["):
            return json.loads(text)
        return None


@dataclass
class Stage:
    name: str
    base: str
    platform: str
    line: int
    instructions: list = field(default_factory=list)

    def all(self, keyword):
        return [i for i in self.instructions if i.keyword == keyword]

    def last(self, keyword):
        found = self.all(keyword)
        return found[-1] if found else None


@dataclass
class Dockerfile:
    global_args: dict
    stages: list

    def stage(self, name):
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise KeyError(f"no stage named {name!r} in the Dockerfile")

    def ancestry(self, name):
        """The stage and the stages it is built FROM, nearest first."""
        chain = []
        names = {s.name for s in self.stages}
        current = self.stage(name)
        while True:
            chain.append(current)
            if current.base not in names:
                return chain
            current = self.stage(current.base)

    def effective(self, name, keyword):
        """The instruction in force for a target: the last one along its ancestry."""
        for stage in self.ancestry(name):
            found = stage.last(keyword)
            if found:
                return found
        return None


def parse_dockerfile(path=None):
    path = Path(path or SOURCE_DIR / "Dockerfile")
    joined = []  # (line number, text)
    pending, start = "", 0
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue  # comment lines inside a continued instruction are dropped by Docker too
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        joined.append((start, pending + stripped))
        pending = ""
    if pending:
        joined.append((start, pending))

    global_args, stages = {}, []
    for number, text in joined:
        keyword, _, arguments = text.partition(" ")
        keyword = keyword.upper()
        instruction = Instruction(keyword, arguments.strip(), number)
        if keyword == "FROM":
            words = arguments.split()
            platform = ""
            if words and words[0].startswith("--platform="):
                platform = words.pop(0).split("=", 1)[1]
            base = words[0]
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else ""
            stages.append(Stage(name=name, base=base, platform=platform, line=number))
        elif not stages:
            if keyword == "ARG":
                key, _, value = arguments.strip().partition("=")
                global_args[key] = value
        else:
            stages[-1].instructions.append(instruction)
    return Dockerfile(global_args=global_args, stages=stages)


def stage_args(stage):
    """ARG name -> default declared in a stage."""
    args = {}
    for instruction in stage.all("ARG"):
        key, _, value = instruction.arguments.partition("=")
        args[key.strip()] = value.strip()
    return args


def stage_env(dockerfile, target):
    """ENV in force for a target (along its ancestry, nearest wins)."""
    env = {}
    for stage in reversed(dockerfile.ancestry(target)):
        for instruction in stage.all("ENV"):
            for word in shlex.split(instruction.arguments):
                key, sep, value = word.partition("=")
                if sep:
                    env[key] = value
    return env


def read_deps_list(name):
    """The package names of deps/<name>.txt, in order."""
    packages = []
    for line in (SOURCE_DIR / "deps" / f"{name}.txt").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            packages.append(line)
    return packages


def clean_env(**extra):
    """A minimal environment: the user's MQTT_HOST and the like must not leak in."""
    env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"), "HOME": os.environ.get("HOME", "/root")}
    env.update(extra)
    return env


EMPTY_ENV_FILE = Path(__file__).resolve().parent / "empty.env"


LOCAL_COMPOSE_FILE = SOURCE_DIR / "docker-compose.local.yml"


def compose_config(env_file=None, local=False, environment=None):
    """docker-compose's resolved configuration of docker-compose.yml (with
    docker-compose.local.yml over it when `local`), as a dict."""
    # Always an explicit env file: a developer's own .env must not change the result.
    command = ["docker-compose", "--project-directory", str(SOURCE_DIR), "-f", str(SOURCE_DIR / "docker-compose.yml")]
    if local:
        command += ["-f", str(LOCAL_COMPOSE_FILE)]
    command += ["--env-file", str(env_file or EMPTY_ENV_FILE), "config"]
    done = subprocess.run(command, env=clean_env(**(environment or {})), capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr}")
    return yaml.safe_load(done.stdout)


def read_env_file(path):
    values = {}
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key] = value
    return values


# ctest's SKIP_RETURN_CODE for these scripts (tests/deploy/CMakeLists.txt).
SKIP_EXIT_CODE = 77


def run_tests():
    """Runs the module's unittest cases and exits as ctest needs: 1 on a
    failure; SKIP_EXIT_CODE when something was skipped (ctest then shows
    "Not Run", never "Passed"), except under CI (CI=true), which runs where
    every prerequisite is provided: there a skip is a failure."""
    import sys
    import unittest

    program = unittest.main(verbosity=2, exit=False)
    result = program.result
    if not result.wasSuccessful():
        sys.exit(1)
    if result.skipped:
        reasons = "; ".join(reason for _, reason in result.skipped)
        if os.environ.get("CI") == "true":
            print(f"CI=true, where every test must run, but skipped: {reasons}", file=sys.stderr)
            sys.exit(1)
        sys.exit(SKIP_EXIT_CODE)
    sys.exit(0)
