"""The `prices:` file deployer.yaml may name: hourly prices a plan's cost uses instead of the
Cloud Billing Catalog (negotiated rates, spot, a backend without a public catalog).

It is read like a manifest (size and kind of file, UTF-8, one YAML document, positions), so
`deployer validate` reports a bad one at `FILE:LINE:COL`, and `plan` reads it again through
the same checks. The format is `deployer.accounting.prices.book_from_file`'s.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from deployer.accounting.prices import PriceBook, PriceError, book_from_file
from deployer.config.yamlsource import load_yaml
from deployer.core.diagnostics import Diagnostics, ManifestError, SourceMap, display_path


def prices_path(root: Path, setting: str) -> Path:
    """The file a `prices:` setting names, relative to the directory of deployer.yaml."""
    return root / setting


def check_prices(
    setting: str,
    source: SourceMap,
    root: Path,
    diags: Diagnostics,
    backends: Iterable[str],
) -> PriceBook | None:
    """The prices the setting names; each problem at its position (the setting's value in
    deployer.yaml when the file cannot be used at all)."""
    path = prices_path(root, setting)
    if not setting.strip() or not path.is_file():
        why = "is empty" if not setting.strip() else f"names {display_path(path)}, not a file"
        diags.add(
            source.file,
            source.value(("prices",)),
            f"prices: {why} (a YAML file of hourly prices, relative to deployer.yaml)",
        )
        return None
    file = display_path(path)
    doc = load_yaml(path, file, diags)
    if doc is None:
        return None
    try:
        return book_from_file(doc.data, file, tuple(sorted(backends)))
    except PriceError as exc:
        position = doc.source.key(exc.path)
        dotted = ".".join(str(p) for p in exc.path)
        diags.add(file, position, f"{dotted + ': ' if dotted else ''}{exc.problem}")
        return None


def read_prices(root: Path, setting: str, backends: Iterable[str]) -> PriceBook:
    """The prices for a plan; ManifestError (positioned) when the file changed for the worse
    since the manifests were loaded."""
    diags = Diagnostics()
    source = SourceMap(display_path(root / "deployer.yaml"))
    book = check_prices(setting, source, root, diags, backends)
    if book is None or diags:
        raise ManifestError(diags.sorted())
    return book
