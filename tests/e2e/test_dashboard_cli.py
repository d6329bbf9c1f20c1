"""``mentorbot run`` serves the dashboard from its own process when ``[dashboard] listen`` is
set, and refuses to start without the secret that signs its sessions."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from chatbot.cli import main
from chatbot.dashboard.server import CSP

ROOT = Path(__file__).resolve().parents[2]
PORT = int(os.environ.get("MENTORBOT_TEST_DASHBOARD_PORT", "48471"))


def config(tmp_path: Path, listen: str) -> Path:
    path = tmp_path / "bot.toml"
    path.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "bot.db"}"\n\n[dashboard]\nlisten = "{listen}"\n\n'
                    '[adapters.console]\nenabled = false\n')
    return path


def run(path: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "chatbot", "--config", str(path), "run"], cwd=path.parent,
                            env={**os.environ, "PYTHONPATH": str(ROOT), **env}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_run_without_the_secret_says_so_and_connects_nothing(tmp_path):
    proc = run(config(tmp_path, f"127.0.0.1:{PORT}"), env={"MENTORBOT_DASHBOARD_SECRET": ""})
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert "the dashboard needs a secret: MENTORBOT_DASHBOARD_SECRET is not set" in err
    assert "Traceback" not in err


def test_run_serves_the_dashboard_from_the_same_process(tmp_path):
    proc = run(config(tmp_path, f"127.0.0.1:{PORT}"), env={"MENTORBOT_DASHBOARD_SECRET": "s" * 40})
    try:
        deadline, answer = time.monotonic() + 30, None
        while answer is None and time.monotonic() < deadline and proc.poll() is None:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{PORT}/round", timeout=2)
            except urllib.error.HTTPError as exc:
                answer = exc
            except OSError:
                time.sleep(0.1)  # not listening yet: poll with a deadline
        assert answer is not None, proc.stderr.read() if proc.poll() is not None else "no answer in 30 s"
        assert answer.code == 401 and answer.headers["Content-Security-Policy"] == CSP
        assert "type !dashboard to the bot" in answer.read().decode()
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert f"dashboard: serving on 127.0.0.1:{PORT}" in err


def test_a_listen_address_that_is_not_one_is_named(tmp_path, capsys):
    bad = config(tmp_path, "8470")
    assert main(["check-config", str(bad)]) == 2
    assert "dashboard.listen: '8470' must look like 127.0.0.1:8470" in capsys.readouterr().err
