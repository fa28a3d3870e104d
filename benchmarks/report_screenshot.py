"""Build a finished study's HTML report and photograph its front page in headless Chromium: the
check, in a real browser, that the summary renders as the report's front page.

    python benchmarks/report_screenshot.py STUDY_DIR
    python benchmarks/report_screenshot.py STUDY_DIR -- --profile profiles/idc-gpu

STUDY_DIR is the folder the study ran in (its Snakefile, config and results/); what follows
`--` goes to `snakemake --report` (the profile or config files the run used). Writes
STUDY_DIR/report.html and STUDY_DIR/results/report/front_page.png (results/ is never
committed) and prints both paths. Without a Chromium binary (Debian: `apt-get install
chromium`; or set CHROMIUM to one) it builds the report, says why it takes no picture, and
exits 0.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_browser() -> str | None:
    named = os.environ.get("CHROMIUM")
    if named:
        return shutil.which(named)
    return next(filter(None, map(shutil.which, BROWSERS)), None)


def build_report(study: Path, snakemake_args: list[str]) -> Path:
    report = study / "report.html"
    command = [sys.executable, "-m", "snakemake", "--report", report.name, *snakemake_args]
    subprocess.run(command, cwd=study, check=True)
    return report


def screenshot(browser: str, page: Path, png: Path, width: int, height: int) -> Path:
    """The page as a browser window of width x height shows it once its scripts ran (the
    report draws itself with React: the virtual time budget lets it finish)."""
    png.parent.mkdir(parents=True, exist_ok=True)
    png.unlink(missing_ok=True)
    command = [
        browser,
        "--headless",
        "--no-sandbox",  # root in a container has no user namespace for the sandbox
        "--disable-gpu",
        "--hide-scrollbars",
        "--virtual-time-budget=15000",
        f"--window-size={width},{height}",
        f"--screenshot={png}",
        page.resolve().as_uri(),
    ]
    subprocess.run(command, check=True, capture_output=True, timeout=120)
    if not png.is_file():
        raise RuntimeError(f"{browser} wrote no screenshot at {png}")
    return png


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("study", type=Path, help="the finished study's folder")
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=1000)
    parser.add_argument("snakemake_args", nargs="*", help="after --: for snakemake --report")
    args = parser.parse_args()
    study = args.study.resolve()
    report = build_report(study, args.snakemake_args)
    print(f"report: {report}")
    browser = find_browser()
    if browser is None:
        print(
            f"skipped the screenshot: no Chromium found (tried $CHROMIUM, {', '.join(BROWSERS)}); "
            "install it (Debian: apt-get install chromium) to look at the report in a browser"
        )
        return
    png = screenshot(
        browser, report, study / "results/report/front_page.png", args.width, args.height
    )
    print(f"screenshot ({browser}): {png}")


if __name__ == "__main__":
    main()
