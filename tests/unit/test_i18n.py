"""Every string in templates and Python code has a translation in both catalogs."""

from __future__ import annotations

import shutil

from portal import LOCALES_DIR
from portal.devtools import i18n as catalogs
from portal.i18n import gettext, use_locale


def test_every_message_is_translated_in_every_catalog():
    problems = catalogs.problems()
    assert problems == [], "\n".join(problems[:20]) + "\nrun `make i18n-extract` and translate the new entries"


def test_the_check_notices_a_missing_translation(tmp_path):
    """The check above can fail: drop one translation from a copy of the catalogs."""
    shutil.copytree(LOCALES_DIR, tmp_path / "locales")
    po = tmp_path / "locales" / "zh_Hans" / "LC_MESSAGES" / "messages.po"
    text = po.read_text(encoding="utf-8")
    po.write_text(text.replace('msgid "Boards"\nmsgstr "看板"', 'msgid "Boards"\nmsgstr ""'), encoding="utf-8")
    assert any("'Boards'" in line for line in catalogs.problems(tmp_path / "locales"))


def test_chinese_is_the_default_and_english_is_a_switch():
    assert gettext("Boards") == "看板"
    with use_locale("en"):
        assert gettext("Boards") == "Boards"
    with use_locale("fr"):  # unknown → default
        assert gettext("Boards") == "看板"
    assert gettext("Use at least %(n)s characters.", n=10) == "请至少输入 10 个字符。"
