"""The operator's command line, run as a real process where the behaviour is the process's."""

from __future__ import annotations

import json
import logging
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from chatbot import __version__
from chatbot.cli import MaskSecrets, main

ROOT = Path(__file__).resolve().parents[2]


def mentorbot(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chatbot", *args], cwd=cwd, capture_output=True, text=True, timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
    )


@pytest.mark.parametrize("name", ["signup", "round", "round-lifecycle", "assessment", "mentorship", "office-hours", "checkins", "francais",
                                  "checkin-fit", "assessment-quick", "signup-room", "zones-languages"])
def test_example_transcripts_play_as_recorded(tmp_path, name):
    result = mentorbot("console", "--db", str(tmp_path / "demo.db"), "--script", str(ROOT / "examples" / f"{name}.txt"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == (ROOT / "examples" / f"{name}.out").read_text()


def test_state_persists_between_console_runs(tmp_path):
    first = tmp_path / "a.txt"
    first.write_text('you: !round open "2027 Q1" 2027-01-01 2027-03-31\n')
    second = tmp_path / "b.txt"
    second.write_text("you: !round status\n")
    db = str(tmp_path / "state.db")
    mentorbot("console", "--db", db, "--script", str(first), cwd=tmp_path)
    out = mentorbot("console", "--db", db, "--script", str(second), cwd=tmp_path).stdout
    assert out.startswith("[dm you] Round 2027 Q1 (Fri, 1 Jan 2027 → Wed, 31 Mar 2027), ")


def test_a_bad_script_line_names_the_line(tmp_path):
    script = tmp_path / "bad.txt"
    script.write_text("you: !help\nthis is not a line\n")
    result = mentorbot("console", "--db", str(tmp_path / "x.db"), "--script", str(script), cwd=tmp_path)
    assert result.returncode == 2
    assert "line 2: not a script line" in result.stderr


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"mentorbot {__version__}"


def test_check_config_masks_secrets_and_names_bad_keys(tmp_path, capsys):
    good = tmp_path / "good.toml"
    good.write_text(
        'admins = ["irc:alice"]\n[database]\nurl = "sqlite:///x.db"\n'
        '[adapters.console]\nenabled = true\n[adapters.custom]\nenabled = false\napi_token = "s3cr3t-value"\n'
    )
    assert main(["check-config", str(good)]) == 0
    out = capsys.readouterr().out
    dumped = json.loads(out)
    assert dumped["adapters"]["custom"]["api_token"] == "***" and "s3cr3t" not in out
    bad = tmp_path / "bad.toml"
    bad.write_text('admins = ["alice"]\n[database]\nsynchronous = "sometimes"\nurll = "x"\n')
    assert main(["check-config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "admins: 'alice' must look like platform:account" in err
    assert "database.synchronous: Input should be 'full' or 'normal'" in err
    assert "database.urll: unknown key" in err


def test_check_config_of_the_example_file_passes(capsys):
    assert main(["check-config", str(ROOT / "config.example.toml")]) == 0


def test_backup_writes_a_consistent_copy(tmp_path):
    script = tmp_path / "s.txt"
    script.write_text('you: !round open "2027 Q1" 2027-01-01 2027-03-31\n')
    db = tmp_path / "live.db"
    mentorbot("console", "--db", str(db), "--script", str(script), cwd=tmp_path)
    result = mentorbot("backup", "--db", str(db), str(tmp_path / "copy.db"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    con = sqlite3.connect(tmp_path / "copy.db")
    assert con.execute("select name from round").fetchall() == [("2027 Q1",)]
    again = mentorbot("backup", "--db", str(db), str(tmp_path / "copy.db"), cwd=tmp_path)
    assert again.returncode == 2 and "exists already" in again.stderr


def test_logs_are_one_line_and_mask_secrets(tmp_path, monkeypatch):
    script = tmp_path / "s.txt"
    script.write_text("you: !help\n")
    result = mentorbot("--log-level", "DEBUG", "console", "--db", str(tmp_path / "x.db"), "--script", str(script), cwd=tmp_path)
    lines = [line for line in result.stderr.splitlines() if line]
    assert lines and all(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ (DEBUG|INFO|WARNING|ERROR) \S+: ", line) for line in lines)
    monkeypatch.setenv("MENTORBOT_IRC_PASSWORD", "hunter2-secret")
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "login with %s failed", ("hunter2-secret",), None)
    MaskSecrets().filter(record)
    assert record.getMessage() == "login with *** failed"


@pytest.mark.parametrize("name", ["irc", "matrix", "discord", "console"])
def test_every_adapter_section_of_the_example_config_is_valid(name):
    """The example documents real keys: each section passes its adapter's own validation."""
    import tomllib

    from chatbot.app import adapter_factory

    raw = tomllib.loads((ROOT / "config.example.toml").read_text())
    section = {k: v for k, v in raw["adapters"][name].items() if k != "enabled"}
    model = getattr(adapter_factory(name), "settings_model", None)
    if model is None:
        assert section == {}
    else:
        model.model_validate(section)


def test_check_config_validates_enabled_adapters(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('[adapters.irc]\nenabled = true\nhost = "irc.example.org"\nnick = "1nvalid"\n')
    assert main(["check-config", str(bad)]) == 1
    assert "adapters.irc:" in capsys.readouterr().err


def test_the_command_reference_is_up_to_date(capsys):
    """COMMANDS.md is generated from the declarations; regenerate with `mentorbot commands > COMMANDS.md`."""
    assert main(["commands"]) == 0
    assert capsys.readouterr().out == (ROOT / "COMMANDS.md").read_text()


def test_config_may_be_given_after_the_command_as_the_readme_shows(tmp_path):
    """`mentorbot run --config FILE` (the README's form) was refused as an unrecognized argument."""
    config = tmp_path / "c.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "h.db"}"\n[adapters.console]\nenabled = true\n')
    after = mentorbot("health", "--config", str(config), cwd=tmp_path)
    before = mentorbot("--config", str(config), "health", cwd=tmp_path)
    assert "unrecognized arguments" not in after.stderr
    assert (after.returncode, after.stdout, after.stderr) == (before.returncode, before.stdout, before.stderr)
    assert "h.db" in after.stderr  # it read this config: the database it names was looked for


def test_the_console_reads_as_a_conversation_when_its_input_is_piped(tmp_path):
    """Piped in, each line appears after its prompt on a line of its own, answers below it
    (it used to be "you@dm> alice@dm> [dm alice] Welcome!…" on one line)."""
    result = subprocess.run(
        [sys.executable, "-m", "chatbot", "console", "--db", str(tmp_path / "c.db")],
        input="!whoami\n/as alice\n!whoami\n", capture_output=True, text=True, timeout=60, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    lines = result.stdout.splitlines()
    assert result.returncode == 0, result.stderr
    asked = [i for i, line in enumerate(lines) if "@dm>" in line]
    assert [lines[i] for i in asked] == ["you@dm> !whoami", "you@dm> /as alice", "alice@dm> !whoami"]
    assert lines[asked[0] + 1].startswith("[dm you]") and lines[asked[2] + 1].startswith("[dm alice]")


def test_the_console_stops_writing_quietly_when_its_reader_goes_away(tmp_path):
    """``mentorbot console | head -1``: no traceback for each answer nobody reads."""
    bot = subprocess.Popen(
        [sys.executable, "-m", "chatbot", "console", "--db", str(tmp_path / "c.db")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert bot.stdin is not None and bot.stdout is not None and bot.stderr is not None
    assert bot.stdout.readline().startswith("Talking to the bot")
    bot.stdout.close()  # the reader leaves
    bot.stdin.write("!help\n!whoami\n!help\n")
    bot.stdin.close()
    assert bot.wait(timeout=60) == 0
    errors = bot.stderr.read()
    assert "Traceback" not in errors and "BrokenPipe" not in errors, errors


def test_health_fails_when_the_database_cannot_be_reached(tmp_path, capsys):
    """A healthcheck on a PostgreSQL nobody listens for (port 1 on loopback) exits 1 and says why."""
    config = tmp_path / "bot.toml"
    config.write_text('[adapters.console]\nenabled = true\n')
    assert main(["--config", str(config), "health", "--db", "postgresql://mentorbot@127.0.0.1:1/mentorbot"]) == 1
    err = capsys.readouterr().err
    assert "unhealthy: the database cannot be reached (OperationalError" in err and "Traceback" not in err


def test_run_refuses_adapters_the_config_does_not_enable(tmp_path, capsys):
    config = tmp_path / "bot.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "bot.db"}"\n[adapters.console]\nenabled = true\n')
    assert main(["--config", str(config), "run", "--adapters", "irc,console"]) == 2
    assert capsys.readouterr().err.strip() == "mentorbot: --adapters irc,console: the config enables console"
    # the README's form, --config after run (issue 22, item 18), reads the same config
    assert main(["run", "--config", str(config), "--adapters", "irc,console"]) == 2
    assert capsys.readouterr().err.strip() == "mentorbot: --adapters irc,console: the config enables console"
    with pytest.raises(SystemExit):
        main(["run", "--adapters", "IRC;drop"])
    assert "give adapter names separated by commas, like discord,matrix" in capsys.readouterr().err
