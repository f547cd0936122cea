"""Extract the dashboard's texts and write translations/id/LC_MESSAGES/messages.po and .mo.

    .venv/bin/python -m dashboard.translations.build          # rewrite .po and .mo
    .venv/bin/python -m dashboard.translations.build --check  # exit 1 if they are out of date

The Indonesian texts live in ``id.py`` (data); Babel's extractor finds every
``_()``/``_l()`` in the Python code and the templates.
"""
from __future__ import annotations

import io
import sys
from datetime import datetime, timezone
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import write_po

from .id import ID as _ID
from .id_citizens import ID as _ID_CITIZENS

ID = {**_ID, **_ID_CITIZENS}  # the citizens' pages keep their texts apart (one file per area)

ROOT = Path(__file__).resolve().parents[1]  # dashboard/
OUT = ROOT / "translations" / "id" / "LC_MESSAGES"
METHODS = [("**/translations/**", "ignore"), ("**.py", "python"), ("templates/**.html", "jinja2")]
KEYWORDS = {"_": None, "gettext": None, "_l": None, "lazy_gettext": None}


def catalog() -> Catalog:
    fixed = datetime(2026, 1, 1, tzinfo=timezone.utc)  # the same bytes on every run
    cat = Catalog(locale="id", project="hotspot-monitor", domain="messages", fuzzy=False,
                  creation_date=fixed, revision_date=fixed)
    for filename, lineno, message, _comments, _ctx in extract_from_dir(
            str(ROOT), METHODS, keywords={**KEYWORDS}, options_map={"templates/**.html": {"extensions": "jinja2.ext.do"}}):
        if isinstance(message, tuple):
            message = message[0]
        cat.add(message, ID.get(message), locations=[(filename, lineno)])
    return cat


def render() -> tuple[bytes, bytes, list[str]]:
    cat = catalog()
    missing = [m.id for m in cat if m.id and not m.string]
    po, mo = io.BytesIO(), io.BytesIO()
    write_po(po, cat, omit_header=True, sort_output=True, no_location=True)
    write_mo(mo, cat)
    return po.getvalue(), mo.getvalue(), missing


def main(argv: list[str]) -> int:
    po, mo, missing = render()
    if missing:
        print("texts without an Indonesian translation in dashboard/translations/id.py:", file=sys.stderr)
        for m in missing:
            print(f"  {m!r}", file=sys.stderr)
    if "--check" in argv:
        same = (OUT / "messages.po").exists() and (OUT / "messages.po").read_bytes() == po \
            and (OUT / "messages.mo").exists() and (OUT / "messages.mo").read_bytes() == mo
        if not same:
            print("messages.po/.mo are out of date: run python -m dashboard.translations.build", file=sys.stderr)
        return 0 if same and not missing else 1
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "messages.po").write_bytes(po)
    (OUT / "messages.mo").write_bytes(mo)
    print(f"wrote {OUT / 'messages.po'} and messages.mo ({len(ID)} texts)")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
