"""Keyword normalisation and row parsing (no AWS)."""

from __future__ import annotations

import pytest

from chalicelib.errors import PayloadTooLarge, UnprocessableEntity
from chalicelib.services.keyword_import import (
    MAX_ROWS,
    Rejected,
    Row,
    clean_keyword,
    normalize_keyword,
    rows_from_csv,
    rows_from_json,
)


@pytest.mark.parametrize(("a", "b"), [
    ("Best Espresso Machine", "best espresso machine"),
    ("  best   espresso\tmachine \n", "best espresso machine"),
    ("ＢＥＳＴ espresso", "best espresso"),  # full-width letters (NFKC)
    ("cafe\u0301 latte", "café latte"),  # combining accent composes
    ("STRASSE kaffee", "straße kaffee"),  # casefold, not lower
    ("best\u200bespresso", "bestespresso"),  # zero-width space is invisible
    ("ﬁlter coffee", "filter coffee"),  # ligature
    ("espresso\u00a0machine", "espresso machine"),  # no-break space
])
def test_equivalent_spellings_normalise_the_same(a, b):
    assert normalize_keyword(a) == normalize_keyword(b)


def test_display_form_keeps_case_but_cleans_space():
    assert clean_keyword("  Best\u3000 Espresso  ") == "Best Espresso"


def test_json_rows_accept_strings_and_objects_and_reject_bad_rows_with_their_number():
    rows = rows_from_json(["a", {"keyword": "b", "search_volume": "1,200", "cpc": "0,45"}, "",
                           {"keyword": "c", "difficulty": 101}, {"keyword": "d", "extra": 1}, 42,
                           {"keyword": "e", "search_volume": -1}, {"keyword": "f", "cpc": "abc"}], "sec")
    assert isinstance(rows[0], Row) and rows[0].sector_id == "sec"
    assert rows[1].search_volume == 1200 and rows[1].cpc == 0.45
    rejected = {r.row: r.reason for r in rows if isinstance(r, Rejected)}
    assert set(rejected) == {3, 4, 5, 6, 7, 8}
    assert "empty" in rejected[3] and "difficulty" in rejected[4] and "extra" in rejected[5]
    assert "search_volume" in rejected[7] and "cpc" in rejected[8]


def test_rows_need_a_sector():
    (row,) = rows_from_json(["a"], None)
    assert isinstance(row, Rejected) and "sector" in row.reason


def test_row_cap():
    with pytest.raises(PayloadTooLarge) as exc:
        rows_from_json(["k"] * (MAX_ROWS + 1), "s")
    assert exc.value.code == "too_many_rows" and exc.value.details["rows"] == MAX_ROWS + 1


def test_csv_with_header_aliases_bom_semicolons_and_line_numbers():
    raw = ("\ufeffKeyword;Volume;KD;CPC\r\nbest grinder;1.200;35;1,25\r\n\r\n;10;1;1\r\nv60 recipe;x;2;0\r\n"
           .encode())
    rows = rows_from_csv(raw, "s")
    assert isinstance(rows[0], Row)
    assert rows[0].keyword == "best grinder" and rows[0].difficulty == 35 and rows[0].cpc == 1.25
    assert rows[1].row == 2 and rows[1].line == 4 and "empty" in rows[1].reason
    assert isinstance(rows[2], Rejected) and rows[2].line == 5 and "search_volume" in rows[2].reason


def test_csv_sector_column_and_windows_1252():
    raw = "keyword,sector_id\ncaf\xe9 cr\xe8me,other\n".encode("cp1252")
    (row,) = rows_from_csv(raw, "default")
    assert row.keyword == "café crème" and row.sector_id == "other"


def test_csv_without_keyword_column_is_refused():
    with pytest.raises(UnprocessableEntity):
        rows_from_csv(b"term1,term2\na,b\n", "s")


def test_csv_row_cap_counts_data_rows():
    raw = ("keyword\n" + "".join(f"k{i}\n" for i in range(MAX_ROWS + 5))).encode()
    with pytest.raises(PayloadTooLarge) as exc:
        rows_from_csv(raw, "s")
    assert exc.value.details["rows"] == MAX_ROWS + 5
