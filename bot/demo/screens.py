"""`make screenshots`: the demo's digests, `me`, `trend` and App Home as PNGs, as Slack and Teams people see them.

Each surface is built by the same code the bot posts with (Block Kit from bot.slack, Adaptive Cards from
bot.msteams), rendered to HTML by bot.demo.html and photographed by Debian's headless chromium. It reads
the demo database and the previews `tokenworth demo` wrote under `out/<team>/`, and writes only under
`out/screens/`. Without chromium it says how to install it and exits 1.

    python -m bot.demo.screens --db sqlite:///./tokenworth-demo.db --config demo-data/tokenworth.yml --out out
"""

from __future__ import annotations

import argparse
import base64
import html
import json
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from bot.config.settings import load_settings
from bot.core.weeks import last_full_week
from bot.demo.html import card_frame, image_html, page, slack_frame
from bot.runtime import Runtime

INSTALL = "apt-get install chromium"
WIDTH = 800
TALL = 3000  # pixels: screenshots are taken this tall, then cropped to the page's content
BACKGROUND = (248, 248, 248)  # the page's background in bot.demo.html


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.demo.screens", description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--config", required=True)
    parser.add_argument("--out", type=Path, default=Path("out"))
    args = parser.parse_args(argv)
    browser = shutil.which("chromium")
    if browser is None:
        print(f"make screenshots needs Debian's headless chromium, which is not installed: {INSTALL}", file=sys.stderr)
        return 1
    runtime = Runtime(load_settings(), args.db, args.config)
    pages = write_pages(runtime, args.out)
    for html_path, height in pages:
        shoot(browser, html_path, height)
        print(f"wrote {html_path.with_suffix('.png')}")
    return 0


def write_pages(runtime: Runtime, out: Path) -> list[tuple[Path, int]]:
    """Every surface as an HTML page under out/screens/, with the height its screenshot needs."""
    screens = out / "screens"
    screens.mkdir(parents=True, exist_ok=True)
    pages = {f"digest-{team.name}": _digest_page(out / team.name) for team in runtime.config.teams}
    if (out / "admin" / "blocks.json").exists():  # the admin digest, where the demo wrote one
        pages["digest-admin"] = _digest_page(out / "admin")
    pages["digest-teams-card"] = _teams_card_page(runtime)
    pages.update(_personal_pages(runtime))
    written = []
    for name, (markup, height) in pages.items():
        path = screens / f"{name}.html"
        path.write_text(markup, encoding="utf-8")
        written.append((path, height))
    return written


def _digest_page(preview: Path) -> tuple[str, int]:
    """A team's digest as Slack shows it: the message, the charts uploaded with it, the details in its thread."""
    message = json.loads((preview / "blocks.json").read_text(encoding="utf-8"))
    charts = "".join(image_html(_data_url(png.read_bytes()), png.stem) for png in sorted(preview.glob("*.png")))
    thread = message.get("thread") or {"text": "", "blocks": []}
    frames = [slack_frame(message["blocks"], note=f"in the {preview.name} channel", extra=charts)]
    if thread["blocks"]:
        frames += [f"<div class='label'>thread: {html.escape(thread['text'])}</div>",
                   f"<div class='thread'>{slack_frame(thread['blocks'])}</div>"]
    blocks = len(message["blocks"]) + len(thread["blocks"])  # a long thread may need more than TALL
    return page(f"digest {preview.name}", frames), TALL + 70 * blocks


def _teams_card_page(runtime: Runtime) -> tuple[str, int]:
    from bot.digest.build import load_digest
    from bot.digest.charts import charts_for
    from bot.msteams.cards import digest_card
    from storage.engine import session_scope

    team = runtime.config.teams[0].name
    with session_scope(runtime.engine) as session:
        digest = load_digest(session, runtime.config, runtime.prices, team, last_full_week())
    charts = charts_for(digest)
    pngs = {f"chart:{name}": png for name, _title, png in charts}
    # Teams loads a card's charts from PUBLIC_URL; they are inlined only here, after the card's size check.
    card = digest_card(digest, [(title, f"chart:{name}") for name, title, _png in charts])
    for element in card["body"]:
        if element.get("type") == "Image" and element["url"] in pngs:
            element["url"] = _data_url(pngs[element["url"]])
    return page(f"Teams digest {team}", [card_frame(card, note="in the team's Teams channel")]), TALL


def _personal_pages(runtime: Runtime) -> dict[str, tuple[str, int]]:
    """`me`, `trend` and App Home for the demo's first person, as only they see them."""
    from bot.answers.commands import answer, home
    from bot.answers.types import TrendAnswer
    from bot.digest.charts import person_trend_png
    from bot.slack.render import answer_blocks, home_blocks

    email, now = runtime.config.people[0].email, datetime.now(UTC)
    me = answer_blocks(answer(runtime, email, "me", now))
    trend = answer(runtime, email, "trend", now)
    chart = image_html(_data_url(person_trend_png(trend.weeks)), "trend") if isinstance(trend, TrendAnswer) else ""
    home_view = home_blocks(home(runtime, email, now))
    private = f"only {email} sees this"
    return {
        "me": (page("me", [slack_frame(me, note=private)]), TALL),
        "trend": (page("trend", [slack_frame(answer_blocks(trend), note=private),
                                 slack_frame([], note="in their DM with the bot", extra=chart)]), TALL),
        "home": (page("App Home", [slack_frame(home_view, who="tokenworth · Home", note=private)]), TALL),
    }


def _data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def shoot(browser: str, html_path: Path, height: int) -> None:
    """One screenshot of the page, WIDTH wide and tall enough for it."""
    subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--disable-dev-shm-usage",
         f"--window-size={WIDTH},{height}", f"--screenshot={html_path.with_suffix('.png').resolve()}",
         html_path.resolve().as_uri()],
        check=True, capture_output=True, timeout=120,
    )
    crop(html_path.with_suffix(".png"))


def crop(png: Path, margin: int = 16) -> None:
    """Cut the empty background below the page's content (the window had to be taller than any page)."""
    from PIL import Image, ImageChops

    with Image.open(png) as shot:
        image = shot.convert("RGB")
    box = ImageChops.difference(image, Image.new("RGB", image.size, BACKGROUND)).getbbox()
    if box is not None:
        image.crop((0, 0, image.width, min(image.height, box[3] + margin))).save(png)


if __name__ == "__main__":
    sys.exit(main())
