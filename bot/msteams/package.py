"""The Teams app package: app_package/manifest.json (package data) filled from the settings, with its two icons,
as one zip."""

from __future__ import annotations

import json
import re
import zipfile
from io import BytesIO
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch

from bot import __version__
from bot.config.settings import Settings
from bot.errors import SettingsError, UsageError

TEAMS_DIR = Path(__file__).resolve().parent / "app_package"
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
ACCENT = "#2C3E50"


def manifest(settings: Settings, template: Path = TEAMS_DIR / "manifest.json") -> dict[str, Any]:
    """The manifest with the bot's app id, version and public URL filled in."""
    app_id = settings.microsoft_app_id
    if not app_id or not GUID.match(app_id):
        raise SettingsError(
            "MICROSOFT_APP_ID must be the bot's Entra app (client) id, a GUID, to build the Teams package"
        )
    public_url = settings.public_url
    if not public_url or not public_url.startswith("https://"):
        raise SettingsError("PUBLIC_URL must be the bot's public https URL (Teams loads chart images from it)")
    values = {"MICROSOFT_APP_ID": app_id.lower(), "VERSION": __version__, "PUBLIC_URL": public_url,
              "PUBLIC_HOST": urlparse(public_url).netloc}
    text = re.sub(r"\{\{([A-Z_]+)\}\}", lambda m: values[m[1]], template.read_text(encoding="utf-8"))
    return dict(json.loads(text))


def build_package(settings: Settings, out: Path, teams_dir: Path = TEAMS_DIR) -> Path:
    """Write the zip Teams takes in "Upload a custom app": manifest.json and icons at its root."""
    if not (teams_dir / "manifest.json").exists():
        raise UsageError(
            f"{teams_dir}/manifest.json not found: the installed package is incomplete, reinstall tokenworth"
        )
    body = manifest(settings, teams_dir / "manifest.json")
    icons = {
        name: (teams_dir / "icons" / name).read_bytes() for name in (body["icons"]["color"], body["icons"]["outline"])
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", json.dumps(body, indent=2))
        for name, png in icons.items():
            archive.writestr(name, png)
    return out


def draw_icons(directory: Path) -> None:
    """Regenerate teams/icons: a 192x192 colour icon and a 32x32 white-on-transparent outline icon."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "color.png").write_bytes(_icon(192, background=ACCENT, ink="white"))
    (directory / "outline.png").write_bytes(_icon(32, background=None, ink="white"))


def _icon(pixels: int, background: str | None, ink: str) -> bytes:
    figure = Figure(figsize=(pixels / 100, pixels / 100), dpi=100)
    figure.patch.set_alpha(0.0)
    axes = figure.add_axes((0, 0, 1, 1))
    axes.set_axis_off()
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1)
    if background:
        axes.add_patch(FancyBboxPatch((0.04, 0.04), 0.92, 0.92, boxstyle="round,pad=0,rounding_size=0.18",
                                      facecolor=background, edgecolor="none"))
    heights = (0.25, 0.45, 0.7) if background else (0.35, 0.6, 0.9)
    for i, height in enumerate(heights):  # three rising bars: more outcome per dollar
        left = (0.2 if background else 0.06) + i * (0.22 if background else 0.32)
        bottom = 0.18 if background else 0.05
        width = 0.14 if background else 0.24
        axes.add_patch(FancyBboxPatch((left, bottom), width, height * (0.75 if background else 1),
                                      boxstyle="square,pad=0", facecolor=ink, edgecolor="none"))
    buffer = BytesIO()
    # matplotlib's backend_agg module is unannotated (no .pyi), so mypy sees print_png as untyped
    FigureCanvasAgg(figure).print_png(buffer)  # type: ignore[no-untyped-call]
    return buffer.getvalue()


if __name__ == "__main__":
    draw_icons(TEAMS_DIR / "icons")
