"""The HTML report in a real browser: headless Chromium loads it and decodes its four charts."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

from tests.conftest import need
from tests.integration import report_data
from tiket.config import Settings
from tiket.model.db import Database
from tiket.reports.render import render
from tiket.reports.service import ReportService

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
)
# Appended to a copy of the report only: after load, the title lists each image's decoded size.
PROBE = """<script>
window.addEventListener("load", () => {
  document.title = "charts:" + Array.from(document.images)
    .map(i => `${i.id}=${i.naturalWidth}x${i.naturalHeight}`).join(",");
});
</script>"""


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        need("Chromium is not installed (apt-get install -y chromium)")
    assert found is not None
    return found


def browse(tmp_path: Path, *args: str) -> str:
    done = subprocess.run(
        [chromium(), *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args],
        capture_output=True,
        text=True,
        timeout=90,
        check=True,
    )
    return done.stdout


def test_html_report_renders_with_its_charts(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    with db.session() as session:
        report_data.october(session)
    service = ReportService(db, replace(settings, mail=replace(settings.mail, language="en")))
    html = render(service.monthly("2026-10"), "html")
    page = tmp_path / "report.html"
    page.write_text(html, encoding="utf-8")
    probe = tmp_path / "probe.html"
    probe.write_text(html.replace("</body>", PROBE + "</body>"), encoding="utf-8")

    dom = browse(tmp_path, "--virtual-time-budget=10000", "--dump-dom", probe.as_uri())
    title = re.search(r"<title>charts:([^<]*)</title>", dom)
    assert title, f"the probe did not run: {dom[:300]}"
    sizes = dict(item.split("=") for item in title.group(1).split(","))
    assert set(sizes) == {"chart-categories", "chart-resolution", "chart-backlog", "chart-sla"}
    for name, size in sizes.items():
        width, height = (int(n) for n in size.split("x"))
        assert width > 300 and height > 200, f"{name} did not decode: {size}"
    assert '<b id="tickets-in">5</b>' in dom
    assert "Top recurring problems" in dom

    shot = tmp_path / "report.png"
    browse(tmp_path, f"--screenshot={shot}", "--window-size=1000,2400", page.as_uri())
    assert shot.read_bytes().startswith(b"\x89PNG") and shot.stat().st_size > 20_000
