"""The message catalogs: every message id of the code has a Russian translation, the
compiled .mo matches its .po, and the language choice changes texts, never codes."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from flask import Flask
from flask_babel import gettext

from iredapi_ldap.api.language import init_babel

PACKAGE = Path(__file__).resolve().parents[2] / "iredapi_ldap"
CATALOGS = PACKAGE / "translations"
PLACEHOLDER = re.compile(r"%\((\w+)\)")
KEYWORDS = {"gettext": None, "_l": None, "lazy_gettext": None, "ngettext": (1, 2)}


def code_message_ids() -> set[str]:
    """Return every message id the package's code marks for translation."""
    found = extract_from_dir(
        str(PACKAGE), method_map=[("**.py", "python")], keywords=KEYWORDS, comment_tags=()
    )
    return {message[2] if isinstance(message[2], str) else message[2][0] for message in found}


def catalog(language: str):
    """Return the .po catalog of a language."""
    with open(CATALOGS / language / "LC_MESSAGES" / "messages.po", "rb") as handle:
        return read_po(handle)


def test_every_message_id_has_a_russian_translation():
    """A text marked in the code but missing (or empty, or fuzzy) in the Russian .po fails."""
    ids = code_message_ids()
    assert len(ids) > 20
    russian = {m.id: m for m in catalog("ru") if m.id}
    untranslated = sorted(
        i for i in ids if i not in russian or not russian[i].string or russian[i].fuzzy
    )
    assert untranslated == []


def test_placeholders_are_kept():
    """A translation names the same %(placeholders)s as its message id."""
    for message in catalog("ru"):
        if message.id:
            assert sorted(PLACEHOLDER.findall(message.string)) == sorted(
                PLACEHOLDER.findall(message.id)
            ), message.id


def test_the_compiled_catalog_matches_its_source():
    """The .mo the app reads says exactly what the .po says (recompile after editing)."""
    with open(CATALOGS / "ru" / "LC_MESSAGES" / "messages.mo", "rb") as handle:
        compiled = {m.id: m.string for m in read_mo(handle) if m.id}
    source = {m.id: m.string for m in catalog("ru") if m.id and not m.fuzzy}
    assert compiled == source


def test_gettext_answers_russian_and_falls_back_to_english():
    """With the package's catalogs, ru translates, en and unknown languages keep the id."""
    app = Flask("iredapi_ldap", root_path=str(PACKAGE))
    init_babel(app)
    for header, expected in (
        ("ru-RU,ru;q=0.9", "Неправильная команда"),
        ("en", "Wrong command"),
        ("de", "Wrong command"),
    ):
        with app.test_request_context("/", headers={"Accept-Language": header}):
            assert gettext("Wrong command") == expected
