"""The article sanitiser, word count and meta warnings."""

from __future__ import annotations

from chalicelib.services.html import meta_warnings, sanitize, word_count


def test_scripts_event_handlers_and_javascript_urls_are_removed():
    dirty = ('<h2 onclick="x()">Grind size</h2><script>alert(1)</script><p style="color:red" onmouseover="y()">'
             'Use a <a href="javascript:alert(1)">burr</a> <a href="https://example.com/g">grinder</a>.</p>'
             '<img src="x.png" onerror="z()"><iframe src="https://evil"></iframe><style>p{}</style>'
             '<a href="JaVaScRiPt:alert(2)">x</a><a href="data:text/html,hi">d</a><svg onload="a()"></svg>')
    clean = sanitize(dirty)
    lowered = clean.lower()
    for bad in ("<script", "onclick", "onmouseover", "onerror", "javascript:", "<iframe", "<style", "style=",
                "data:", "<svg", "onload", "alert"):
        assert bad not in lowered, bad
    assert "<h2>Grind size</h2>" in clean
    assert 'href="https://example.com/g"' in clean and 'rel="noopener noreferrer"' in clean


def test_article_markup_survives():
    html = ('<h2>Steps</h2><ol><li><strong>Bloom</strong> for 30 s</li></ol><table><tr><td colspan="2">x</td>'
            '</tr></table><blockquote>q</blockquote><img src="https://cdn.example.com/a.jpg" alt="A">'
            '<a href="mailto:a@example.com">mail</a>')
    clean = sanitize(html)
    for kept in ("<ol>", "<strong>", 'colspan="2"', "<blockquote>", 'alt="A"', "mailto:"):
        assert kept in clean


def test_word_count_separates_blocks_and_ignores_markup():
    assert word_count("<p>Hello</p><p>world</p>") == 2
    assert word_count("<h2>Pour-over isn't hard</h2><ul><li>1:16 ratio</li></ul>") == 5
    assert word_count("<p>caf&eacute; &amp; cr&egrave;me</p>") == 2
    assert word_count("") == 0


def test_meta_warnings():
    assert meta_warnings("Good title", "x" * 120) == []
    codes = {(w["field"], w["code"]) for w in meta_warnings("t" * 61, "d" * 161)}
    assert codes == {("meta_title", "too_long"), ("meta_description", "too_long")}
    codes = {(w["field"], w["code"]) for w in meta_warnings("", "short")}
    assert codes == {("meta_title", "missing"), ("meta_description", "too_short")}
