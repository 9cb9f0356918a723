"""Two `tokenworth ingest` processes at once: exact totals, nothing counted twice, no deadlock (both databases)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import Engine, func, select

from storage.ledger import key_count
from storage.models import Usage, table
from tests.test_rollups import spend_line

EVENTS = 3_000


def write(path: Path, numbers: range) -> Path:
    path.write_text("".join(spend_line(n % 100, n % 37, 10 + n % 7, key=f"req-{n}") for n in numbers))
    return path


def at_once(db_url: str, cwd: Path, *files: Path) -> list[subprocess.CompletedProcess[str]]:
    tokenworth = str(Path(sys.executable).parent / "tokenworth")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "TOKENWORTH_CONFIG")}
    running = [subprocess.Popen([tokenworth, "ingest", str(f), "--db", db_url], env=env, cwd=cwd, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE) for f in files]
    done = []
    for process in running:
        out, err = process.communicate(timeout=120)
        done.append(subprocess.CompletedProcess(process.args, process.returncode, out, err))
    return done


def totals(engine: Engine) -> tuple[int, int, int]:
    usage = table(Usage)
    with engine.connect() as conn:
        requests, tokens = conn.execute(select(func.sum(usage.c.requests), func.sum(usage.c.input_tokens))).one()
        keys = key_count(conn)
    return int(requests or 0), int(tokens or 0), int(keys)


def expected(numbers: set[int]) -> tuple[int, int, int]:
    return len(numbers), sum(10 + n % 7 for n in numbers), len(numbers)


def test_two_ingests_of_overlapping_files_and_of_the_same_file_count_each_event_once(
    engine: Engine, db_url: str, tmp_path: Path,
) -> None:
    first = write(tmp_path / "a.jsonl", range(EVENTS))
    second = write(tmp_path / "b.jsonl", range(EVENTS // 2, EVENTS + EVENTS // 2))
    runs = at_once(db_url, tmp_path, first, second)
    assert [run.returncode for run in runs] == [0, 0], [run.stderr[-2000:] for run in runs]
    assert totals(engine) == expected(set(range(EVENTS + EVENTS // 2)))

    third = write(tmp_path / "c.jsonl", range(10 * EVENTS, 11 * EVENTS))
    runs = at_once(db_url, tmp_path, third, third)
    assert [run.returncode for run in runs] == [0, 0], [run.stderr[-2000:] for run in runs]
    assert totals(engine) == expected(set(range(EVENTS + EVENTS // 2)) | set(range(10 * EVENTS, 11 * EVENTS)))
