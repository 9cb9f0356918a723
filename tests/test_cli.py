"""The command line, run as a user runs it: the installed console script in a subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from slack_sdk.models.blocks import Block

from tests.conftest import EXAMPLE_CONFIG, FIXTURES

COMMANDS = ("ingest", "ingest-errors", "me", "digest", "demo-data", "demo", "db")


def tokenworth(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    script = shutil.which("tokenworth", path=str(Path(sys.executable).parent))
    assert script, "the tokenworth console script is not installed next to this Python"
    clean = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "TOKENWORTH_CONFIG")}
    return subprocess.run(
        [script, *args], cwd=cwd, env={**clean, **(env or {})}, capture_output=True, text=True, timeout=120
    )


def test_help_lists_every_command_with_a_description(tmp_path: Path) -> None:
    result = tokenworth("--help", cwd=tmp_path)
    assert result.returncode == 0
    listed = {line.split()[0]: line for line in result.stdout.split("Commands:")[1].splitlines() if line.strip()}
    from bot.cli import cli

    assert set(listed) == set(cli.commands) >= set(COMMANDS)
    assert all(len(line.split()) > 2 for line in listed.values())
    module = subprocess.run([sys.executable, "-m", "bot", "--help"], capture_output=True, text=True, cwd=tmp_path)
    assert module.returncode == 0 and "demo-data" in module.stdout


@pytest.mark.parametrize("command", [("ingest",), ("me",), ("digest", "preview"), ("demo-data",), ("demo",),
                                     ("db", "upgrade"), ("ingest-errors",)])
def test_every_command_takes_db_and_config_or_needs_none(command: tuple[str, ...], tmp_path: Path) -> None:
    result = tokenworth(*command, "--help", cwd=tmp_path)
    assert result.returncode == 0
    if command[0] != "demo-data":  # generating files touches no database
        assert "--db URL" in result.stdout and "--config PATH" in result.stdout


def test_ingest_me_and_preview_end_to_end(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'tw.db'}"
    common = ("--db", db, "--config", str(EXAMPLE_CONFIG))
    ingest = tokenworth("ingest", str(FIXTURES / "claude_code_analytics"), str(FIXTURES / "github_pulls.json"),
                        "--json", *common, cwd=tmp_path)
    assert ingest.returncode == 0, ingest.stderr
    files = json.loads(ingest.stdout)["files"]
    assert len(files) == 15 and all(
        {"path", "source", "records", "stored", "duplicates", "rejected", "errors"} <= set(f) for f in files
    )

    me = tokenworth("me", "--email", "cara@acme.test", "--week", "2026-W47", "--json", *common, cwd=tmp_path)
    assert me.returncode == 0, me.stderr
    assert json.loads(me.stdout)["outcome_points"] == 15
    text = tokenworth("me", "--email", "cara@acme.test", "--week", "2026-W47", *common, cwd=tmp_path)
    assert "Cara Chen · week 2026-W47" in text.stdout and "$6.48" in text.stdout

    out = tmp_path / "preview"
    preview = tokenworth("digest", "preview", "--team", "product", "--week", "2026-W47", "--out", str(out), *common,
                         cwd=tmp_path)
    assert preview.returncode == 0, preview.stderr
    assert "No team figures" in preview.stdout
    Block.parse_all(json.loads((out / "blocks.json").read_text())["blocks"])


def test_ingest_exit_codes(tmp_path: Path) -> None:
    db = ("--db", f"sqlite:///{tmp_path / 'tw.db'}")
    page = json.loads((FIXTURES / "claude_code_analytics.json").read_text())
    page["data"][2]["model_breakdown"][0]["tokens"]["output"] = "lots"
    bad = tmp_path / "partly-bad.json"
    bad.write_text(json.dumps(page))
    partly = tokenworth("ingest", str(bad), *db, cwd=tmp_path)
    assert partly.returncode == 1
    assert f"rejected {bad}: data[2]: model_breakdown.0.tokens.output" in partly.stderr
    assert "5 stored" in partly.stdout
    errors = tokenworth("ingest-errors", *db, cwd=tmp_path)
    assert "data[2]" in errors.stdout
    broken = tmp_path / "broken.json"
    broken.write_text("{\"data\": [")
    assert tokenworth("ingest", str(broken), *db, cwd=tmp_path).returncode == 2
    assert tokenworth("ingest", str(tmp_path / "missing.json"), *db, cwd=tmp_path).returncode == 2


def test_errors_are_one_clean_line(tmp_path: Path) -> None:
    bad_week = tokenworth("me", "--email", "a@b.test", "--week", "2026-47", "--config", str(EXAMPLE_CONFIG),
                          "--db", f"sqlite:///{tmp_path / 'x.db'}", cwd=tmp_path)
    assert bad_week.returncode == 2 and bad_week.stderr.startswith("error: week '2026-47' is not of the form")
    no_config = tokenworth("me", "--email", "a@b.test", "--week", "2026-W47",
                           "--db", f"sqlite:///{tmp_path / 'x.db'}", cwd=tmp_path)
    assert no_config.returncode == 2 and "config file not found" in no_config.stderr
    bad_env = tokenworth("db", "upgrade", cwd=tmp_path, env={"SLACK_BOT_TOKEN": "nope"})
    assert bad_env.returncode == 2 and "SLACK_BOT_TOKEN" in bad_env.stderr and "Traceback" not in bad_env.stderr


def test_demo_data_is_deterministic(tmp_path: Path) -> None:
    for name in ("a", "b"):
        result = tokenworth("demo-data", "--people", "10", "--weeks", "2", "--seed", "5", "--end-week", "2026-W47",
                            "--out", str(tmp_path / name), cwd=tmp_path)
        assert result.returncode == 0, result.stderr
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert len(files_a) == 19  # config, pulls, Cursor, gateway log, Copilot seats, 14 days of Claude Code
    assert all((tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files_a)
    assert tokenworth("demo-data", "--people", "3", "--out", str(tmp_path / "c"), cwd=tmp_path).returncode == 2


def test_demo_runs_the_main_job_without_credentials(tmp_path: Path) -> None:
    result = tokenworth("demo", "--out", "out", "--data", "demo-data", "--db", "sqlite:///demo.db", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "0 rejected" in result.stdout and "/tokenworth me" in result.stdout
    teams = sorted(p.name for p in (tmp_path / "out").iterdir() if p.name != "admin")
    assert teams == ["growth", "payments", "platform", "product"]
    Block.parse_all(json.loads((tmp_path / "out" / "admin" / "blocks.json").read_text())["blocks"])
    for team in teams:
        Block.parse_all(json.loads((tmp_path / "out" / team / "blocks.json").read_text())["blocks"])
        assert len(list((tmp_path / "out" / team).glob("*.png"))) == 2


def test_every_chat_command_is_a_cli_command_with_the_same_words_and_answers(tmp_path: Path) -> None:
    """Parity: the CLI sends the chat's words through the chat's parser and core call; read commands have --json."""
    from click.testing import CliRunner

    from bot.answers.commands import VERBS, answer
    from bot.cli import cli
    from bot.config.settings import Settings
    from bot.ingest.files import ingest_paths
    from bot.people.directory import prepare
    from bot.runtime import Runtime

    db = f"sqlite:///{tmp_path / 'tw.db'}"
    runtime = Runtime(Settings(), db, str(EXAMPLE_CONFIG))
    prepare(runtime)
    ingest_paths(runtime.engine, [FIXTURES / "claude_code_analytics", FIXTURES / "github_pulls.json"])
    assert set(VERBS) <= set(cli.commands)

    def run(*args: str) -> tuple[int, str, str]:
        result = CliRunner().invoke(cli, [*args, "--db", db, "--config", str(EXAMPLE_CONFIG)])
        return result.exit_code, result.stdout, result.stderr

    cara = ("--email", "cara@acme.test")
    for words in (["me", "2026-w47"], ["me", "2026-W46"], ["me", "4w"], ["me", "last-week"], ["trend"],
                  ["privacy"], ["preview"]):
        code, out, _ = run(words[0], *cara, *words[1:])
        assert code == 0 and out.strip() == answer(runtime, "cara@acme.test", " ".join(words)).text, words
    code, out, _ = run("me", *cara, "2026-W47", "--json")
    assert code == 0 and json.loads(out)["outcome_points"] == 15 and "work_fit" in json.loads(out)
    assert json.loads(run("me", *cara, "--week", "2026-W47", "--json")[1])["outcome_points"] == 15
    assert len(json.loads(run("me", *cara, "4w", "--json")[1])["weeks"]) == 4
    assert len(json.loads(run("trend", *cara, "--json")[1])["weeks"]) == 8
    assert json.loads(run("privacy", *cara, "--json")[1])["sources"] == ["claude_code", "github"]
    assert json.loads(run("preview", *cara, "--json")[1])["team"] == "platform"
    code, out, _ = run("team", "--email", "ana@acme.test", "platform", "2026-W47", "--json")
    assert code == 0 and json.loads(out)["team"] == "platform" and json.loads(out)["week"] == "2026-W47"
    code, _, err = run("team", *cara, "platform", "2026-w47")
    assert code == 1 and "only for that team's configured managers" in err
    code, _, err = run("me", *cara, "yesterday")
    assert code == 2 and err.startswith("error: Say \"me\"")
    code, _, err = run("me", *cara, "13w")
    assert code == 2 and "between 1w and 12w" in err
    code, out, _ = run("kudos", "on", *cara)
    assert code == 0 and out.startswith("Kudos on")
