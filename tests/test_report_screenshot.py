"""The report as a person sees it: rendered by headless Chromium, the page is not blank."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

from vipml.report import write_lists

WIDTH, HEIGHT = 1300, 2600
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def _chromium() -> str:
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    pytest.skip(
        f"no Chromium found ({', '.join(CANDIDATES)}): the report is not rendered here; "
        ".ci/run installs Debian's chromium so CI renders it"
    )
    raise AssertionError  # not reached


def test_the_report_renders_as_a_full_page(scores_helper, tmp_path):
    browser = _chromium()
    scores, attributes = scores_helper.simulated_scores(3000, seed=2)
    html = write_lists(scores, tmp_path / "lists", attributes=attributes)["html"]
    shot = tmp_path / "report.png"
    subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}",
         f"--window-size={WIDTH},{HEIGHT}", f"--screenshot={shot}", html.as_uri()],
        check=True, capture_output=True, timeout=120,
    )
    image = np.asarray(Image.open(shot).convert("L"), dtype=np.float64)
    assert image.shape == (HEIGHT, WIDTH)
    # not blank: the page's text, tables and charts darken every band of it, top to bottom
    # (the report is longer than the window, so the last band holds content too)
    bands = np.array_split(image, 8, axis=0)
    inked = [float((band < 200).mean()) for band in bands]
    assert all(share > 0.01 for share in inked), inked
    assert len(np.unique(image.round())) > 50  # charts and text, not a flat colour
