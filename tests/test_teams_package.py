"""The Teams app package: `tokenworth teams package` writes a zip Teams accepts for upload."""

from __future__ import annotations

import json
import zipfile
from io import BytesIO
from pathlib import Path

import pytest
from click.testing import CliRunner
from matplotlib.image import imread

from bot.answers.commands import HELP
from bot.cli import cli
from bot.config.settings import Settings
from bot.errors import SettingsError
from bot.msteams.package import TEAMS_DIR, build_package, draw_icons, manifest

APP_ID = "3F2504E0-4F89-41D3-9A0C-0305E82C3301"
SETTINGS = {"MICROSOFT_APP_ID": APP_ID, "PUBLIC_URL": "https://tokenworth.acme.test/"}


def test_the_cli_builds_a_zip_with_the_manifest_and_icons_at_its_root(tmp_path: Path) -> None:
    out = tmp_path / "pkg" / "tokenworth-teams.zip"
    result = CliRunner().invoke(cli, ["teams", "package", "--out", str(out), "--db", f"sqlite:///{tmp_path}/t.db"],
                                env=SETTINGS)
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(out) as archive:
        assert sorted(archive.namelist()) == ["color.png", "manifest.json", "outline.png"]
        body = json.loads(archive.read("manifest.json"))
        color, outline = (imread(BytesIO(archive.read(name)), format="png") for name in ("color.png", "outline.png"))
    assert body["id"] == APP_ID.lower() == body["bots"][0]["botId"]
    assert body["developer"]["websiteUrl"] == "https://tokenworth.acme.test"
    assert body["validDomains"] == ["tokenworth.acme.test"]
    assert "{{" not in json.dumps(body)
    assert color.shape[:2] == (192, 192)
    assert outline.shape == (32, 32, 4)
    visible = outline[outline[:, :, 3] > 0]
    assert len(visible) and (visible[:, :3] == 1.0).all()  # the outline icon is white on transparent


def test_the_command_list_offers_every_command_the_core_answers() -> None:
    body = manifest(Settings(microsoft_app_id=APP_ID, public_url="https://t.acme.test"))  # type: ignore[call-arg]
    [commands] = body["bots"][0]["commandLists"]
    verbs = {c["title"].split()[0] for c in commands["commands"]}
    assert verbs == {usage.split()[0] for usage in HELP}
    assert len(commands["commands"]) <= 10
    for command in commands["commands"]:
        assert len(command["title"]) <= 32 and len(command["description"]) <= 128
    assert set(commands["scopes"]) == set(body["bots"][0]["scopes"]) == {"personal", "team", "groupChat"}
    assert body["manifestVersion"] == "1.19" and len(body["name"]["short"]) <= 30
    assert len(body["description"]["short"]) <= 80 and len(body["description"]["full"]) <= 4000


@pytest.mark.parametrize(("settings", "problem"), [
    ({"public_url": "https://t.acme.test"}, "MICROSOFT_APP_ID"),
    ({"microsoft_app_id": "tokenworth-bot", "public_url": "https://t.acme.test"}, "MICROSOFT_APP_ID"),
    ({"microsoft_app_id": APP_ID}, "PUBLIC_URL"),
    ({"microsoft_app_id": APP_ID, "public_url": "http://t.acme.test"}, "PUBLIC_URL"),
])
def test_a_package_needs_a_guid_app_id_and_an_https_public_url(tmp_path: Path, settings: dict, problem: str) -> None:
    with pytest.raises(SettingsError, match=problem):
        build_package(Settings(**settings), tmp_path / "p.zip")
    assert not (tmp_path / "p.zip").exists()


def test_the_committed_icons_are_what_draw_icons_makes(tmp_path: Path) -> None:
    draw_icons(tmp_path)
    for name in ("color.png", "outline.png"):
        drawn, committed = imread(tmp_path / name), imread(TEAMS_DIR / "icons" / name)
        assert drawn.shape == committed.shape
        assert abs(drawn - committed).mean() < 0.02  # room for another matplotlib's anti-aliasing


def test_the_package_builds_from_a_wheel_installed_outside_the_checkout(tmp_path: Path) -> None:
    """The manifest and icons are package data: an installed wheel needs no checkout beside it."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    wheels, site = tmp_path / "wheels", tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    subprocess.run([*pip, "wheel", "--no-deps", "--wheel-dir", str(wheels), str(root)], check=True, timeout=300)
    [wheel] = wheels.glob("tokenworth-*.whl")
    subprocess.run([*pip, "install", "--no-deps", "--target", str(site), str(wheel)], check=True, timeout=300)
    program = ("import bot, sys; assert bot.__file__.startswith(sys.argv[1]), bot.__file__; "
               "from bot.cli import main; sys.argv[1:] = ['teams', 'package', '--out', 'app.zip']; main()")
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(site), "MICROSOFT_APP_ID": APP_ID,
           "PUBLIC_URL": "https://tokenworth.acme.test/", "HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", program, str(site)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(tmp_path / "app.zip") as archive:
        assert sorted(archive.namelist()) == ["color.png", "manifest.json", "outline.png"]
