"""Keyword import: normalise, validate, and create without duplicates, even under races.

Uniqueness: a ``KeywordName`` item per (site, sector, normalised keyword), put with
attribute_not_exists in the same transaction as its ``Keyword``. Two imports racing on
the same keyword cannot both win the put, so one of them creates it and the other reports
it as a duplicate. For speed, an import first reads which names already exist
(BatchGetItem, 100 keys a call) and then writes the rest 50 keywords (100 items) per
TransactWriteItems; a transaction cancelled by a racing import is retried without the
keywords that lost, which are counted as duplicates.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from chalicelib.errors import BadRequest, PayloadTooLarge, UnprocessableEntity
from chalicelib.ids import new_id
from chalicelib.models.accounts import Sector, site_key
from chalicelib.models.planner import Keyword, KeywordName, keyword_name_scope
from chalicelib.services import txn
from chalicelib.text import clean_keyword, normalize_keyword

MAX_ROWS = 10_000
MAX_KEYWORD_LENGTH = 255
MAX_SEARCH_VOLUME = 10_000_000_000
MAX_CPC = 10_000
MAX_SECTORS_PER_IMPORT = 50
KEYWORDS_PER_TRANSACTION = 50  # two items each: the Keyword and its KeywordName


# --- rows -------------------------------------------------------------------------------

@dataclass
class Row:
    row: int
    keyword: str
    normalized: str
    sector_id: str
    search_volume: int | None = None
    difficulty: int | None = None
    cpc: float | None = None
    line: int | None = None


@dataclass
class Rejected:
    row: int
    keyword: str
    reason: str
    line: int | None = None


@dataclass
class Duplicate:
    row: int
    keyword: str
    reason: str
    line: int | None = None


@dataclass
class ImportResult:
    total_rows: int = 0
    created: int = 0
    skipped_duplicates: int = 0
    rejected: int = 0
    rejected_rows: list[Rejected] = field(default_factory=list)
    duplicate_rows: list[Duplicate] = field(default_factory=list)
    created_ids: list[str] = field(default_factory=list)


class RowError(ValueError):
    pass


def _number_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise RowError("must be a number")
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise RowError("must be a finite number")
        return repr(value)
    if isinstance(value, str):
        text = value.strip()
        return text or None
    raise RowError("must be a number")


def parse_int(value: Any, name: str, low: int, high: int) -> int | None:
    text = _number_text(value)
    if text is None:
        return None
    text = re.sub(r"[,_'\u00a0 ]", "", text)
    if re.fullmatch(r"\d{1,3}(\.\d{3})+", text):
        text = text.replace(".", "")  # 1.200 = 1200, as European spreadsheets write it
    try:
        number = float(text)
    except ValueError:
        raise RowError(f"{name} must be a whole number, got {str(value)[:20]!r}") from None
    if not math.isfinite(number) or (number != int(number) and name != "difficulty"):
        raise RowError(f"{name} must be a whole number, got {str(value)[:20]!r}")
    result = round(number)
    if not low <= result <= high:
        raise RowError(f"{name} must be between {low} and {high}, got {result}")
    return result


def parse_cpc(value: Any) -> float | None:
    text = _number_text(value)
    if text is None:
        return None
    text = re.sub(r"[$€£¥\u00a0 ]", "", text)
    if "," in text and "." not in text:
        text = text.replace(",", ".")  # decimal comma, as European spreadsheets write it
    text = text.replace(",", "")
    try:
        number = float(text)
    except ValueError:
        raise RowError(f"cpc must be a number, got {str(value)[:20]!r}") from None
    if not math.isfinite(number) or not 0 <= number <= MAX_CPC:
        raise RowError(f"cpc must be between 0 and {MAX_CPC}")
    return round(number, 2)


def make_row(row_no: int, data: dict[str, Any], default_sector: str | None,
             line: int | None = None) -> Row | Rejected:
    raw_keyword = data.get("keyword")
    shown = str(raw_keyword)[:MAX_KEYWORD_LENGTH] if raw_keyword is not None else ""
    try:
        if not isinstance(raw_keyword, str):
            raise RowError("keyword is missing" if raw_keyword is None else "keyword must be text")
        keyword = clean_keyword(raw_keyword)
        if not keyword:
            raise RowError("keyword is empty")
        if len(keyword) > MAX_KEYWORD_LENGTH:
            raise RowError(f"keyword is longer than {MAX_KEYWORD_LENGTH} characters")
        sector = data.get("sector_id") or default_sector
        if not sector:
            raise RowError("no sector: give sector_id for the import or for the row")
        if not isinstance(sector, str) or len(sector) > 64:
            raise RowError("sector_id is not valid")
        return Row(
            row=row_no, line=line, keyword=keyword, normalized=normalize_keyword(keyword), sector_id=sector.strip(),
            search_volume=parse_int(data.get("search_volume"), "search_volume", 0, MAX_SEARCH_VOLUME),
            difficulty=parse_int(data.get("difficulty"), "difficulty", 0, 100),
            cpc=parse_cpc(data.get("cpc")),
        )
    except RowError as exc:
        return Rejected(row=row_no, line=line, keyword=shown, reason=str(exc))


def too_many_rows(count: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"An import takes at most {MAX_ROWS:,} rows; this one has {count:,}. "
                           "Split it into several imports.", code="too_many_rows",
                           details={"max_rows": MAX_ROWS, "rows": count})


ROW_FIELDS = {"keyword", "search_volume", "difficulty", "cpc", "sector_id"}


def rows_from_json(items: list[Any], default_sector: str | None) -> list[Row | Rejected]:
    if len(items) > MAX_ROWS:
        raise too_many_rows(len(items))
    rows: list[Row | Rejected] = []
    for i, item in enumerate(items, start=1):
        if isinstance(item, str):
            item = {"keyword": item}
        if not isinstance(item, dict):
            rows.append(Rejected(row=i, keyword="", reason="a row must be a string or an object"))
            continue
        unknown = set(item) - ROW_FIELDS
        if unknown:
            rows.append(Rejected(row=i, keyword=str(item.get("keyword", ""))[:MAX_KEYWORD_LENGTH],
                                 reason=f"unknown field(s): {', '.join(sorted(unknown))}"))
            continue
        rows.append(make_row(i, item, default_sector))
    return rows


_CSV_ALIASES = {
    "keyword": {"keyword", "keywords", "query", "term", "search_term"},
    "search_volume": {"search_volume", "volume", "searches", "monthly_searches", "avg_monthly_searches", "sv"},
    "difficulty": {"difficulty", "kd", "keyword_difficulty", "kd_%", "kd%", "seo_difficulty"},
    "cpc": {"cpc", "cpc_usd", "cost_per_click"},
    "sector_id": {"sector_id", "sector"},
}


def _header_name(text: str) -> str | None:
    key = re.sub(r"[\s\-]+", "_", text.strip().lstrip("\ufeff").lower())
    key = re.sub(r"_?\((usd|\$|%)\)$", "", key)
    for name, aliases in _CSV_ALIASES.items():
        if key in aliases:
            return name
    return None


def decode_csv(raw: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise BadRequest("The CSV is neither UTF-8 nor Windows-1252 text.", code="invalid_encoding")


def rows_from_csv(raw: bytes, default_sector: str | None) -> list[Row | Rejected]:
    """Rows of a CSV with a header row: keyword[,search_volume,difficulty,cpc,sector_id].

    ``row`` is the data row number (1 = first row after the header); ``line`` is the
    line in the file, as a spreadsheet shows it.
    """
    text = decode_csv(raw)
    if not text.strip():
        raise UnprocessableEntity("The CSV is empty; send a header row and one keyword per row.",
                                  code="invalid_csv")
    first_line = text.lstrip("\ufeff").splitlines()[0]
    delimiter = max([",", ";", "\t"], key=first_line.count) if any(d in first_line for d in ",;\t") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as exc:
        raise UnprocessableEntity(f"The CSV header cannot be read: {exc}", code="invalid_csv") from None
    columns = [_header_name(h) for h in header]
    if "keyword" not in columns:
        raise UnprocessableEntity("The CSV needs a header row with a 'keyword' column (optional: search_volume, "
                                  "difficulty, cpc, sector_id).", code="invalid_csv",
                                  details={"header": header[:20]})
    records: list[tuple[int, list[str]]] = []
    try:
        for record in reader:
            if not any(cell.strip() for cell in record):
                continue  # blank lines, as spreadsheets leave at the end
            records.append((reader.line_num, record))
            if len(records) > MAX_ROWS:
                count = len(records) + sum(1 for r in reader if any(c.strip() for c in r))
                raise too_many_rows(count)
    except csv.Error as exc:
        raise UnprocessableEntity(f"The CSV cannot be parsed near line {reader.line_num}: {exc}",
                                  code="invalid_csv") from None
    rows: list[Row | Rejected] = []
    for row_no, (line, record) in enumerate(records, start=1):
        data = {name: record[i] for i, name in enumerate(columns) if name and i < len(record)}
        rows.append(make_row(row_no, data, default_sector, line=line))
    return rows


# --- the import -------------------------------------------------------------------------

def _known_sectors(account_id: str, site_id: str, sector_ids: Iterable[str]) -> dict[str, Sector]:
    wanted = list(dict.fromkeys(sector_ids))
    if len(wanted) > MAX_SECTORS_PER_IMPORT:
        raise UnprocessableEntity(f"An import may touch at most {MAX_SECTORS_PER_IMPORT} sectors.")
    key = site_key(account_id, site_id)
    return {s.sector_id: s for s in Sector.batch_get([(key, sid) for sid in wanted])} if wanted else {}


def _sector_refusal(sector_id: str, known: dict[str, Sector]) -> str | None:
    """Why a row cannot go into this sector (a deactivated one, or one being deleted, takes no keywords)."""
    sector = known.get(sector_id)
    if sector is None:
        return f"sector {sector_id!r} is not a sector of this site"
    if sector.status != "active":
        return f"sector {sector_id!r} is {sector.status}: it takes no keywords"
    return None


def new_keyword(account_id: str, site_id: str, row: Row, created_by: str | None) -> Keyword:
    kw = Keyword(site_key(account_id, site_id), new_id(), account_id=account_id, site_id=site_id,
                 sector_id=row.sector_id, keyword=row.keyword, normalized=row.normalized,
                 search_volume=row.search_volume, difficulty=row.difficulty, cpc=row.cpc,
                 status="pending", created_by=created_by)
    kw.sync_index_keys()
    return kw


def keyword_unit(kw: Keyword, ref: Any) -> txn.Unit:
    name = KeywordName(keyword_name_scope(kw.account_id, kw.site_id, kw.sector_id), kw.normalized,
                       keyword_id=kw.keyword_id)
    return txn.Unit(ref, [
        txn.Op("put", name, KeywordName.normalized.does_not_exist()),
        txn.Op("put", kw, Keyword.keyword_id.does_not_exist()),
    ])


def import_rows(account_id: str, site_id: str, parsed: list[Row | Rejected], *,
                created_by: str | None = None) -> ImportResult:
    """Create every valid, new row's keyword; count duplicates and rejections (by row)."""
    result = ImportResult(total_rows=len(parsed))
    rows = [r for r in parsed if isinstance(r, Row)]
    result.rejected_rows = [r for r in parsed if isinstance(r, Rejected)]

    known = _known_sectors(account_id, site_id, (r.sector_id for r in rows))
    valid: list[Row] = []
    for r in rows:
        refusal = _sector_refusal(r.sector_id, known)
        if refusal is None:
            valid.append(r)
        else:
            result.rejected_rows.append(Rejected(row=r.row, line=r.line, keyword=r.keyword, reason=refusal))

    first_seen: dict[tuple[str, str], Row] = {}
    candidates: list[Row] = []
    for r in valid:
        key = (r.sector_id, r.normalized)
        if key in first_seen:
            result.duplicate_rows.append(Duplicate(row=r.row, line=r.line, keyword=r.keyword,
                                                   reason=f"repeats row {first_seen[key].row}"))
        else:
            first_seen[key] = r
            candidates.append(r)

    existing: set[tuple[str, str]] = set()
    name_keys = [(keyword_name_scope(account_id, site_id, r.sector_id), r.normalized) for r in candidates]
    for name in KeywordName.batch_get(name_keys):
        existing.add((name.scope_key, name.normalized))
    fresh: list[Row] = []
    for r, key in zip(candidates, name_keys, strict=True):
        if key in existing:
            result.duplicate_rows.append(Duplicate(row=r.row, line=r.line, keyword=r.keyword,
                                                   reason="already in this sector"))
        else:
            fresh.append(r)

    keywords = {r.row: new_keyword(account_id, site_id, r, created_by) for r in fresh}
    units = [keyword_unit(keywords[r.row], r.row) for r in fresh]
    outcome = txn.run_units(units, txn.shared_connection(Keyword), max_items=2 * KEYWORDS_PER_TRANSACTION)
    by_row = {r.row: r for r in fresh}
    for row_no in outcome.failed:
        r = by_row[row_no]
        result.duplicate_rows.append(Duplicate(row=r.row, line=r.line, keyword=r.keyword,
                                               reason="already in this sector (added concurrently)"))
    result.created_ids = [keywords[row_no].keyword_id for row_no in outcome.ok]
    result.created = len(outcome.ok)
    result.duplicate_rows.sort(key=lambda d: d.row)
    result.rejected_rows.sort(key=lambda d: d.row)
    result.skipped_duplicates = len(result.duplicate_rows)
    result.rejected = len(result.rejected_rows)
    return result
