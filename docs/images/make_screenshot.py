"""Screenshot the lifecycle map of a demo data directory for the README.

    uv run touchpoint demo --no-serve --data-dir /tmp/demo
    uv run python docs/images/make_screenshot.py /tmp/demo

opens DATA_DIR/lifecycle-map.html (the Sankey `touchpoint demo` writes; after a change to the
plot, `touchpoint report transitions --plot DATA_DIR/lifecycle-map.html --data-dir DATA_DIR`
draws it again) in Debian's Chromium through Playwright, waits for Plotly to draw the Sankey and
saves docs/images/lifecycle-map.png. With Pillow installed the PNG is reduced to a 256-colour
palette, which keeps it small.
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"  # Playwright's own browser download is not used
SIZE = {"width": 1200, "height": 700}
OUT = Path(__file__).resolve().parent / "lifecycle-map.png"


def screenshot(page_file: Path, out: Path) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM)
        try:
            page = browser.new_page(viewport=SIZE)
            page.goto(page_file.resolve().as_uri())
            page.wait_for_selector(".sankey .sankey-node", state="attached", timeout=30_000)
            page.wait_for_timeout(1_000)  # let the nodes' transitions settle
            page.screenshot(path=str(out))
        finally:
            browser.close()


def shrink(png: Path) -> None:
    try:
        from PIL import Image
    except ImportError:
        return
    with Image.open(png) as image:
        small = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    small.save(png, optimize=True)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        sys.stderr.write(__doc__ or "")
        return 2
    page_file = Path(argv[1]) / "lifecycle-map.html"
    if not page_file.is_file():
        sys.stderr.write(f"no {page_file}: run `touchpoint demo --no-serve --data-dir {argv[1]}`\n")
        return 1
    screenshot(page_file, OUT)
    shrink(OUT)
    sys.stdout.write(f"{OUT} ({OUT.stat().st_size // 1024} KB)\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
