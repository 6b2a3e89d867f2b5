"""Items read to suggest links for one article, for sites of 1,000 and 10,000 articles.

Modelled, not timed: ``services.linker.index.candidate_reads`` is the count of items
``index.candidates`` reads (the source's profile, its cluster, then at most ``PER_CLUSTER`` articles
of its cluster and of each of its ``graph.NEIGHBOURS`` nearest clusters); tests/storage/test_link_index.py
checks the model against the real reads on DynamoDB. The sites' clusters have the sizes the pipeline
makes (3 to 12 articles written per cluster, seeded), so nothing is created: it stays quick.

Standalone: ``PYTHONPATH=. .venv/bin/python -m infra.bench.linking_reads``.
"""

from __future__ import annotations

import random
from typing import Any

from chalicelib.services.linker import graph
from chalicelib.services.linker.index import candidate_reads

SIZES = (1_000, 10_000)
RATIO_TARGET = 1.5


def reads_rows() -> list[dict[str, Any]]:
    rows = []
    rng = random.Random(7)
    for articles in SIZES:
        # Clusters as the pipeline makes them: a few articles each (3 to 12 ideas written per cluster).
        sizes: list[int] = []
        while sum(sizes) < articles:
            sizes.append(rng.randint(3, 12))
        per_source = [candidate_reads(sizes[c], [sizes[rng.randrange(len(sizes))] for _ in range(graph.NEIGHBOURS)])
                      for c in range(len(sizes)) for _ in range(sizes[c])]
        rows.append({"articles": articles, "clusters": len(sizes),
                     "items read per linked article": round(sum(per_source) / len(per_source), 1),
                     "max": max(per_source)})
    rows[1]["ratio 10k/1k"] = round(rows[1]["items read per linked article"] /
                                    rows[0]["items read per linked article"], 2)
    return rows


def run() -> dict[str, Any]:
    rows = reads_rows()
    return {"title": "Items read per linked article (link suggestions), by site size", "rows": rows,
            "notes": [f"target: ratio 10k/1k <= {RATIO_TARGET}"]}


if __name__ == "__main__":
    from infra.bench.__main__ import format_table

    result = run()
    print(result["title"])
    print(format_table(result["rows"]))
