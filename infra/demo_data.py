"""Real-looking keyword data for the demo and the benchmark: a home coffee brewing site.

``demo_keywords()`` gives about 250 long-tail keywords in two sectors ("Espresso" and
"Pour-over") with search volume, difficulty and CPC, made deterministically from topic
lists (no network, same list on every run). ``synthetic_keywords(n)`` makes ``n``
distinct keywords of the same shape for load figures. ``step_import_keywords`` is a demo
step (see infra/demo.py ``STEPS``) that imports them over HTTP and reports the counts.
"""

from __future__ import annotations

import hashlib
import itertools
from typing import Any

ESPRESSO_TOPICS = [
    "espresso machine", "espresso grinder", "home espresso setup", "espresso beans", "single dose grinder",
    "espresso tamper", "milk frother", "latte art", "espresso puck screen", "bottomless portafilter",
]
ESPRESSO_MODIFIERS = [
    "best {t}", "best {t} under 500", "best {t} for beginners", "{t} vs nespresso", "how to clean {t}",
    "{t} review", "cheap {t}", "{t} buying guide", "{t} for small kitchen", "is a {t} worth it",
    "{t} troubleshooting", "{t} maintenance schedule",
]
ESPRESSO_QUESTIONS = [
    "how to dial in espresso", "why is my espresso sour", "why is my espresso bitter", "espresso brew ratio",
    "how fine to grind for espresso", "espresso channeling fix", "how long to pull an espresso shot",
    "espresso extraction time", "what is a ristretto", "lungo vs americano", "how to steam milk for latte",
    "flat white vs latte", "cortado vs macchiato", "how to descale breville barista express",
    "gaggia classic pro mods", "rancilio silvia vs gaggia classic", "best espresso beans for milk drinks",
    "light roast espresso tips", "pre infusion espresso explained", "espresso temperature celsius",
    "how much caffeine in a double espresso", "espresso at home without machine", "moka pot vs espresso",
    "how to froth oat milk", "best milk for latte art", "espresso shot timer app", "wdt tool espresso",
    "espresso scale with timer", "how to store espresso beans", "decaf espresso beans best",
]
POUROVER_TOPICS = [
    "pour over coffee", "hario v60", "chemex", "kalita wave", "gooseneck kettle", "pour over grinder",
    "paper coffee filters", "pour over scale", "clever dripper", "origami dripper",
]
POUROVER_MODIFIERS = [
    "best {t}", "{t} recipe", "{t} ratio", "{t} grind size", "how to use {t}", "{t} vs french press",
    "{t} for beginners", "{t} review", "cheap {t}", "{t} brewing time", "{t} technique", "{t} tips",
]
POUROVER_QUESTIONS = [
    "how to make pour over coffee", "pour over coffee ratio grams", "v60 recipe james hoffmann",
    "4 6 method tetsu kasuya", "how to bloom coffee", "why is my pour over bitter", "why is my pour over weak",
    "best coffee for pour over", "light roast pour over recipe", "iced pour over recipe",
    "pour over vs drip coffee", "chemex vs v60", "kalita wave vs v60", "how hot should water be for pour over",
    "pour over coffee without scale", "single origin ethiopian pour over", "how to rinse paper filter",
    "bypass brewing explained", "total dissolved solids coffee", "coffee to water ratio calculator",
    "what grind size for v60", "best hand grinder for pour over", "electric gooseneck kettle temperature control",
    "how long should pour over take", "agitation in pour over", "melitta vs chemex filters",
    "cold brew vs pour over caffeine", "best beans for chemex", "water recipe for pour over", "third wave water",
]

SECTORS = ("Espresso", "Pour-over")


def _metrics(keyword: str) -> dict[str, Any]:
    """Plausible, stable metrics: question and long keywords get less volume and difficulty."""
    h = int.from_bytes(hashlib.sha256(keyword.encode()).digest()[:8], "big")
    words = len(keyword.split())
    base = [40, 70, 110, 170, 260, 390, 590, 880, 1300, 1900, 2900, 4400, 6600, 9900, 14800][h % 15]
    volume = max(10, int(base * 4 / words))
    difficulty = min(95, max(3, (h >> 8) % 70 + (30 if words <= 3 else 0) - words * 2))
    cpc = round(0.15 + ((h >> 16) % 350) / 100, 2)
    return {"search_volume": volume, "difficulty": difficulty, "cpc": cpc}


def _expand(topics: list[str], modifiers: list[str], questions: list[str]) -> list[str]:
    templated = [m.format(t=t) for t in topics for m in modifiers]
    # Questions first, then a spread of the templates, so any prefix of the list looks varied.
    spread = [k for i in range(len(modifiers)) for k in templated[i::len(modifiers)]]
    return list(dict.fromkeys(questions + spread))


def demo_keywords() -> dict[str, list[dict[str, Any]]]:
    """Sector name -> rows ``{keyword, search_volume, difficulty, cpc}`` (about 125 per sector)."""
    espresso = _expand(ESPRESSO_TOPICS, ESPRESSO_MODIFIERS, ESPRESSO_QUESTIONS)[:125]
    pourover = _expand(POUROVER_TOPICS, POUROVER_MODIFIERS, POUROVER_QUESTIONS)[:125]
    return {
        "Espresso": [{"keyword": k, **_metrics(k)} for k in espresso],
        "Pour-over": [{"keyword": k, **_metrics(k)} for k in pourover],
    }


_PLACES = ["", " uk", " australia", " canada", " reddit", " amazon", " near me"]


def synthetic_keywords(n: int) -> list[dict[str, Any]]:
    """``n`` distinct keyword rows built from the demo vocabulary (for load figures)."""
    stems = _expand(ESPRESSO_TOPICS, ESPRESSO_MODIFIERS, ESPRESSO_QUESTIONS) + \
        _expand(POUROVER_TOPICS, POUROVER_MODIFIERS, POUROVER_QUESTIONS)
    rows = []
    for i, (suffix, stem) in enumerate(itertools.product(_PLACES + [f" {y}" for y in range(2000, 2100)], stems)):
        if i >= n:
            break
        keyword = f"{stem}{suffix}"
        rows.append({"keyword": keyword, **_metrics(keyword)})
    if len(rows) < n:
        raise ValueError(f"the vocabulary makes only {len(rows)} keywords")
    return rows


def step_import_keywords(demo: Any) -> str:
    """Demo step: a second sector, then both sectors' keywords imported (once more to show dedupe)."""
    site_id = demo.facts["site_id"]
    sectors = {}
    for name in SECTORS:
        sector = demo.http.post(f"/v1/sites/{site_id}/sectors", {"name": name}, expect=201)
        sectors[name] = sector["sector_id"]
        demo.counts["sector"] += 1
    created = duplicates = rejected = 0
    for name, rows in demo_keywords().items():
        result = demo.http.post(f"/v1/sites/{site_id}/keywords/import",
                                {"sector_id": sectors[name], "keywords": rows})
        created += result["created"]
        duplicates += result["skipped_duplicates"]
        rejected += result["rejected"]
    again = demo.http.post(f"/v1/sites/{site_id}/keywords/import",
                           {"sector_id": sectors["Espresso"], "keywords": demo_keywords()["Espresso"][:50]})
    demo.facts["keyword_sectors"] = sectors
    demo.counts["keyword"] += created
    return (f"imported {created} keywords into {len(sectors)} sectors ({duplicates} duplicates, {rejected} "
            f"rejected); importing 50 again: created {again['created']}, skipped {again['skipped_duplicates']}")
