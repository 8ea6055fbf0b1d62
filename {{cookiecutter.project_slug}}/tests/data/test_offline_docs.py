"""Data Docs render with no network: every file a page loads is in the site, none is remote."""

from __future__ import annotations

import re
from pathlib import Path

import great_expectations
import pandas as pd

from {{ cookiecutter.package_name }}.contract import DataContract
from {{ cookiecutter.package_name }}.data.offline_docs import (
    ASSETS,
    CDN_COPIES,
    localize,
    make_offline,
    remote_assets,
    sri_hash,
)
from {{ cookiecutter.package_name }}.data.validation import validate_batch
from {{ cookiecutter.package_name }}.settings import Settings
from worked_example import TARGET

GX_TEMPLATES = Path(great_expectations.__file__).parent / "render" / "view" / "templates"
LOADED = re.compile(r'<(?:script|img|link)[^>]*\s(?:src|href)="([^"#?]+)')


def test_data_docs_load_every_asset_from_the_site(
    clean_batch: pd.DataFrame, contract: DataContract, settings: Settings
) -> None:
    broken = clean_batch.copy()
    broken[TARGET] = broken[TARGET].astype(object)
    broken.loc[0, TARGET] = "not a label"
    for frame in (clean_batch, broken):
        validate_batch(frame, contract, settings.gx_dir, settings.data_docs_dir)

    pages = sorted(settings.data_docs_dir.rglob("*.html"))
    assert len(pages) >= 4  # the index, the suite and two results, at three folder depths
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assert remote_assets(html) == [], page
        for address in LOADED.findall(html):
            assert (page.parent / address).resolve().is_file(), f"{page}: {address}"
        assert "integrity=" not in html  # a file:// page refuses a file:// script with SRI
    assert make_offline(settings.data_docs_dir) == []  # already done, and idempotent


def test_every_remote_file_gx_pages_load_has_a_local_copy() -> None:
    # Fails when a GX upgrade moves to other versions: vendor them from npm (data README).
    addresses = set()
    for template in GX_TEMPLATES.glob("*.j2"):
        addresses |= set(remote_assets(template.read_text(encoding="utf-8")))
    not_vendored = {a for a in addresses - CDN_COPIES.keys() if "/npm/vega" not in a}
    assert addresses and not not_vendored
    for copy in CDN_COPIES.values():
        assert (ASSETS / copy).is_file(), copy


def test_local_copies_match_the_integrity_hashes_gx_pins() -> None:
    pinned = re.findall(
        r'src="(https://[^"]+)"\s+integrity="([^"]+)"',
        (GX_TEMPLATES / "js_script_imports.j2").read_text(encoding="utf-8"),
    )
    assert pinned
    for address, integrity in pinned:
        assert sri_hash(ASSETS / CDN_COPIES[address]) == integrity, address


def test_fonts_the_stylesheets_name_are_vendored() -> None:
    # TrueType files are fallbacks that a browser with WOFF2 (all current ones) never fetches.
    for sheet in ASSETS.rglob("*.css"):
        for url in re.findall(r"url\(([^)]+)\)", sheet.read_text(encoding="utf-8")):
            url = url.strip("'\"")
            if url.startswith("data:") or url.endswith(".ttf"):
                continue
            assert (sheet.parent / url).resolve().is_file(), f"{sheet.name}: {url}"


def test_vega_stays_only_on_a_page_that_draws_a_chart(tmp_path: Path) -> None:
    vega = '<script src="https://cdn.jsdelivr.net/npm/vega@5"></script>\n'
    jquery = '<script src="https://code.jquery.com/jquery-3.7.1.min.js"></script>\n'
    site, page_dir = tmp_path, tmp_path / "validations" / "suite"

    without_chart = localize(vega + jquery, page_dir, site)
    assert without_chart == '<script src="../../static/vendor/jquery/jquery.min.js"></script>\n'
    assert localize(without_chart, page_dir, site) == without_chart

    with_chart = localize(vega + jquery + "<script>vegaEmbed('#c', spec)</script>", page_dir, site)
    assert vega in with_chart
