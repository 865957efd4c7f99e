"""The codecs every format relies on: reversible cell escaping and plain text ↔ HTML."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from competency_framework.interchange.cells import (
    escape_cell,
    html_to_text,
    join_multilang,
    split_multilang,
    text_to_html,
    unescape_cell,
)
from competency_framework.texts import clean_text

TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)) | st.sampled_from(" \n\t<>&;#=+-@'\""),
               max_size=80)


@settings(max_examples=300, database=None)
@given(TEXT)
def test_escaping_is_safe_and_reversible(value: str) -> None:
    escaped = escape_cell(value)
    assert escaped[:1] not in ("=", "+", "-", "@", "\t", "\r")
    assert unescape_cell(escaped) == value


@settings(max_examples=300, database=None)
@given(TEXT)
def test_html_codec_restores_every_clean_text(value: str) -> None:
    text = clean_text(value)
    assert html_to_text(text_to_html(text)) == text


def test_html_is_read_as_a_browser_shows_it() -> None:
    assert html_to_text("<p>One\n  two</p><p>Three&nbsp;<br/>four</p><script>x()</script>") == \
        "One two\n\nThree\u00a0\nfour"
    assert html_to_text("<ul><li>a</li><li>b &amp; c</li></ul>") == "a\n\nb & c"


def test_multilang_spans() -> None:
    markup = join_multilang({"en": "Team &amp; work", "lt": "Komandinis darbas"})
    assert split_multilang(markup) == {"en": "Team &amp; work", "lt": "Komandinis darbas"}
    assert split_multilang("Plain <span>text</span>") is None
    assert split_multilang('<span class="multilang" lang="LT">x</span> tail') is None
