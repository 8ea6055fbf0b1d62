"""Data Docs that render with no network.

GX's page templates load Bootstrap, jQuery, bootstrap-table, Font Awesome and Vega from CDNs
and show a logo from S3, so offline (or behind a proxy) a page shows no validation results at
all. After each build, the pages GX just wrote are pointed at copies of those files kept in
`docs_assets/` (the same versions, from their npm packages, each with its license) and copied
into the site's `static/vendor/`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
from pathlib import Path

ASSETS = Path(__file__).with_name("docs_assets")
STATIC = "static"
VENDOR = "vendor"

# Each address GX's templates use -> its copy in docs_assets/ and the npm package it came from.
# The versions are the ones GX asks for; the files GX pins with an integrity hash are
# byte-identical (tests/data/test_offline_docs.py checks).
CDN_COPIES: dict[str, str] = {
    url: source["file"]
    for url, source in json.loads((ASSETS / "sources.json").read_text(encoding="utf-8")).items()
}
# Vega draws charts only for expectations the contract never generates (KL divergence) and is
# 0.8 MB, so it is not vendored: pages without a chart drop the three script tags.
VEGA_SCRIPT = re.compile(
    r'<script src="https://cdn\.jsdelivr\.net/npm/vega[-a-z]*@\d+"></script>\n?'
)
# The S3 logo carries a context id and a time stamp in its query: a tracking request.
REMOTE_LOGO = re.compile(r'"https://great-expectations-web-assets\.s3[^"]*/logo-long\.png[^"]*"')
ADDRESS = re.compile(r'(?P<attr>src|href)="(?P<url>https://[^"]+)"(?P<rest>[^>]*)>')
# SRI and CORS attributes make a file:// page refuse a file:// script.
SRI = re.compile(r'\s+(?:integrity|crossorigin)="[^"]*"')
# GX writes the favicon of a result page one folder short; every static path is recomputed.
STATIC_PATH = re.compile(r'(?P<attr>src|href)="(?:\./|(?:\.\./)+)static/')


def make_offline(site_dir: Path, pages: list[Path] | None = None) -> list[Path]:
    """Copy the assets into the site and point `pages` (default: every page) at them; return
    the pages that changed. Running it twice changes nothing."""
    shutil.copytree(ASSETS, site_dir / STATIC / VENDOR, dirs_exist_ok=True)
    changed = []
    for page in sorted(site_dir.rglob("*.html")) if pages is None else pages:
        text = page.read_text(encoding="utf-8")
        offline = localize(text, page.parent, site_dir)
        if offline != text:
            temporary = page.with_suffix(".html.tmp")
            temporary.write_text(offline, encoding="utf-8")
            temporary.replace(page)
            changed.append(page)
    return changed


def localize(html: str, page_dir: Path, site_dir: Path) -> str:
    """`html` with every known CDN address replaced by a path relative to `page_dir`."""
    to_static = Path(os.path.relpath(site_dir / STATIC, page_dir)).as_posix()

    def local(match: re.Match[str]) -> str:
        copy = CDN_COPIES.get(match["url"])
        if copy is None:
            return match[0]
        return f'{match["attr"]}="{to_static}/{VENDOR}/{copy}"{SRI.sub("", match["rest"])}>'

    html = ADDRESS.sub(local, html)
    html = STATIC_PATH.sub(lambda match: f'{match["attr"]}="{to_static}/', html)
    html = REMOTE_LOGO.sub(f'"{to_static}/images/logo-long.png"', html)
    if "vegaEmbed" not in html:
        html = VEGA_SCRIPT.sub("", html)
    return html


def remote_assets(html: str) -> list[str]:
    """Addresses a page would still fetch from the network (scripts, stylesheets, images)."""
    fetched = re.findall(r'<(?:script|img)[^>]*\ssrc="(https?://[^"]+)"', html)
    fetched += re.findall(r'<link[^>]*\shref="(https?://[^"]+)"', html)
    return fetched


def sri_hash(path: Path) -> str:
    """The Subresource Integrity value of a file, as GX's templates write it."""
    return "sha384-" + base64.b64encode(hashlib.sha384(path.read_bytes()).digest()).decode()
