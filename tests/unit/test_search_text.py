"""Search text (portal/search/text.py): the words a Chinese query asks for, and snippets that
mark them without ever marking up the user's own text."""

from portal.search import text


def test_a_query_without_spaces_is_cut_into_words():
    assert text.query_terms("地铁停运") == ["地铁", "停运"]
    # Particles left over beside real words are not required.
    assert text.query_terms("地铁停运了吗") == ["地铁", "停运"]
    assert text.query_terms("  暴雨   积水 ") == ["暴雨", "积水"]
    assert text.query_terms("") == []


def test_the_indexed_words_hold_the_querys_words():
    indexed = text.words("2号线地铁临时停运，请问什么时候恢复？").split()
    assert {"地铁", "临时", "停运", "恢复"} <= set(indexed)
    assert "，" not in indexed and "？" not in indexed


def test_a_citizens_numbers_are_neither_words_nor_shown():
    assert "13812345678" not in text.words("联系电话13812345678")
    assert "5678" not in text.words("联系电话13812345678")
    assert text.shown("联系电话13812345678") == "联系电话138****5678"
    assert text.query_terms("13812345678") == []


def test_highlights_escape_the_text_and_mark_the_words():
    marked = text.highlight("<b>地铁</b>停运 & 地铁站", ["地铁", "地铁站"])
    assert str(marked) == "&lt;b&gt;<mark>地铁</mark>&lt;/b&gt;停运 &amp; <mark>地铁站</mark>"


def test_a_snippet_is_cut_around_the_words():
    long = "无关的话。" * 60 + "这里说到地铁停运的事。" + "其他内容。" * 60
    plain, marked = text.snippet(long, ["地铁", "停运"], size=40)
    assert plain.startswith("…") and plain.endswith("…") and "地铁停运" in plain
    assert "<mark>地铁</mark><mark>停运</mark>" in str(marked)
