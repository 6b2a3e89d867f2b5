"""The offline provider on its own, and the whole offline chain through the engine."""

from __future__ import annotations

import json
import math
import re
from html.parser import HTMLParser

import pytest

from chalicelib.ai.providers.offline_provider import OFFLINE_NOTE, OfflineProvider, embed_text
from chalicelib.ai.stages import STAGES
from chalicelib.ai.types import ChatRequest
from chalicelib.services import content_types, html
from chalicelib.services.ai_engine import get_engine
from chalicelib.services.system_defaults import seed_system_defaults

KEYWORDS = ["best running shoes", "running shoes for flat feet", "trail running shoes", "running shoe size guide"]


def _stage(stage: str, variables: dict) -> dict:
    response = OfflineProvider().chat(ChatRequest(messages=[{"role": "user", "content": "x"}], model="m",
                                                  stage=stage, variables=variables, json_mode=True))
    data = json.loads(response.text)
    STAGES[stage].schema.model_validate(data)
    return data


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.open: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.open.append(tag)

    def handle_endtag(self, tag):
        assert self.open and self.open[-1] == tag, f"</{tag}> closes {self.open[-1:]}"
        self.open.pop()

    def handle_data(self, data):
        self.text.append(data)


def test_articles_are_real_html_built_from_the_outline_and_keywords():
    outline = [{"heading": "Why Cushioning Matters", "subheadings": ["Heel drop", "Foam types"]},
               {"heading": "Fitting Running Shoes", "subheadings": ["Measuring your feet"]},
               {"heading": "Trail or Road"}]
    article = _stage("content_generation", {
        "author": "Professional expert.", "word_count": 1200, "title": "How to Choose Running Shoes",
        "description": "For new runners choosing a first pair.", "primary_keyword": "best running shoes",
        "secondary_keywords": ["trail running shoes", "running shoes for flat feet"], "outline": outline})
    parser = _Tags()
    parser.feed(article["html"])
    assert parser.open == []
    h2 = re.findall(r"<h2>(.*?)</h2>", article["html"])
    h3 = re.findall(r"<h3>(.*?)</h3>", article["html"])
    assert h2[:3] == ["Why Cushioning Matters", "Fitting Running Shoes", "Trail or Road"]
    assert h3 == ["Heel drop", "Foam types", "Measuring your feet"]
    words = len(" ".join(parser.text).split())
    assert 800 <= words <= 1500, words
    assert "best running shoes" in article["html"] and "trail running shoes" in article["html"]
    assert "For new runners choosing a first pair." in article["html"]
    assert OFFLINE_NOTE in article["html"] and "<!-- offline draft" in article["html"]
    assert len(article["meta_title"]) <= 60 and len(article["meta_description"]) <= 160
    assert article["title"] == "How to Choose Running Shoes" and article["excerpt"]


def test_a_task_brief_gives_its_prose_to_the_text_and_its_outline_to_the_headings():
    """A writing task's brief ends with its outline in Markdown (create_tasks): no "##" in the prose."""
    brief = "For new runners choosing a first pair.\n## Why Cushioning Matters\n- Heel drop\n- Foam types"
    article = _stage("content_generation", {
        "author": "a", "word_count": 1200, "title": "How to Choose Running Shoes", "description": brief,
        "primary_keyword": "best running shoes",
        "outline": [{"heading": "Why Cushioning Matters", "subheadings": ["Heel drop", "Foam types"]}]})
    assert "For new runners choosing a first pair." in article["html"]
    assert "##" not in article["html"] and "##" not in article["meta_description"]
    assert "- Heel drop" not in article["html"]


@pytest.mark.parametrize(("word_count", "low", "high"), [(300, 240, 380), (800, 700, 900), (1500, 1400, 1650),
                                                         (5000, 4800, 5300), ("lots", 1100, 1350)])
def test_article_length_follows_the_length_asked_for(word_count, low, high):
    article = _stage("content_generation", {"author": "a", "word_count": word_count, "title": "T",
                                            "description": "", "primary_keyword": "k", "secondary_keywords": [],
                                            "outline": "First part\nSecond part"})
    words = len(re.sub(r"<[^>]+>", " ", article["html"]).split())
    assert low <= words <= high, (word_count, words)


@pytest.mark.parametrize("key", list(content_types.CONTENT_TYPES))
def test_every_content_type_gets_its_length_and_structure_in_the_language_asked(key):
    ctype = content_types.get(key)
    article = _stage("content_generation", {
        "author": "a", "language": "de-AT", "structure": ctype.structure(), "word_count": ctype.target_words,
        "title": "Espresso", "description": "", "primary_keyword": "espresso", "secondary_keywords": ["crema"],
        "outline": [{"heading": "Beans", "subheadings": ["Roast", "Grind"]}, {"heading": "Water"}]})
    assert content_types.check(article["html"], html.word_count(article["html"]), ctype) == []
    assert '<section lang="de-AT">' in article["html"] and article["title"].startswith("[de-AT] ")
    assert article["meta_title"].startswith("[de-AT] ")
    assert bool(article["faq"]) == ctype.faq and all(q["question"].startswith("[de-AT] ") for q in article["faq"])


def test_keywords_are_escaped_in_html():
    article = _stage("content_generation", {"author": "a", "word_count": 900, "title": "<b>T</b>",
                                            "description": "<script>x</script>", "primary_keyword": "a<b",
                                            "secondary_keywords": [], "outline": []})
    assert "<script>" not in article["html"] and "a&lt;b" in article["html"]


def test_cluster_names_come_from_the_shared_words():
    data = _stage("clustering", {"sector": "Running", "keywords": KEYWORDS})
    assert data["name"] == "Running Shoes"


def test_ideas_have_outlines_and_keywords_from_the_cluster():
    data = _stage("ideas", {"sector": "Running", "count": 5, "cluster_name": "Running Shoes",
                            "cluster_description": "d", "keywords": KEYWORDS})
    assert len(data["ideas"]) == 5
    assert len({i["title"] for i in data["ideas"]}) == 5
    for idea in data["ideas"]:
        assert idea["primary_keyword"] in KEYWORDS and 4 <= len(idea["outline"]) <= 6
        assert set(idea["secondary_keywords"]) <= set(KEYWORDS) - {idea["primary_keyword"]}


def test_image_prompts_follow_the_article_headings():
    html = "<h2>One</h2><p>x</p><h2>Two</h2><p>y</p><h2>Three</h2>"
    data = _stage("image_prompts", {"image_style": "illustration", "max_images": 3, "title": "T", "content": html})
    images = data["images"]
    assert [i["position"] for i in images] == [0, 1, 2]
    assert [i["is_featured"] for i in images] == [True, False, False]
    assert images[1]["alt_text"] == "One" and images[0]["prompt"].startswith("Digital illustration")


def test_same_input_same_output_different_input_different_output():
    v = {"sector": "S", "count": 2, "cluster_name": "C", "cluster_description": "", "keywords": KEYWORDS}
    assert _stage("ideas", v) == _stage("ideas", v)
    assert _stage("ideas", v) != _stage("ideas", {**v, "keywords": KEYWORDS[::-1]})


def test_lexical_embeddings_are_unit_vectors_and_group_similar_texts():
    shoes, shoes2, tax = (embed_text(t) for t in ("running shoes for women", "women's running shoes",
                                                  "file a tax return online"))
    for v in (shoes, shoes2, tax, embed_text("")):
        assert math.isclose(sum(x * x for x in v), 1.0, rel_tol=1e-9)
    dot = lambda a, b: sum(x * y for x, y in zip(a, b, strict=True))  # noqa: E731
    assert dot(shoes, shoes2) > 0.5 > dot(shoes, tax)
    assert embed_text("running shoes") == embed_text("running shoes")


def test_the_whole_chain_runs_offline_through_the_engine(system_db):
    """Seeded platform, no keys: cluster -> ideas -> article -> image prompts -> images."""
    seed_system_defaults()
    engine = get_engine("acct-offline")
    assert {engine.text_route.provider_name, engine.image_route.provider_name,
            engine.embedding_route.provider_name} == {"offline"}
    vectors = engine.embed(KEYWORDS).vectors
    assert len(vectors) == 4
    cluster = engine.run_stage("clustering", {"sector": "Running", "keywords": KEYWORDS})
    assert cluster.prompt_source == "global" and cluster.offline and cluster.usage.model == "gpt-4o-mini"
    chosen = {"author": "Professional expert.", "language": "en", "strategy": "-", "industry": "-"}
    ideas = engine.run_stage("ideas", {**chosen, "content_types": content_types.choices(), "sector": "Running",
                                       "count": 2, "cluster_name": cluster.data.name,
                                       "cluster_description": cluster.data.description, "keywords": KEYWORDS})
    idea = ideas.data.ideas[0]
    assert idea.content_type in content_types.CONTENT_TYPES
    article = engine.run_stage("content_generation", {
        **chosen, "content_type": "Blog article", "structure": content_types.get(None).structure(),
        "word_count": 1000, "title": idea.title, "description": idea.description,
        "primary_keyword": idea.primary_keyword, "secondary_keywords": idea.secondary_keywords,
        "outline": [s.model_dump() for s in idea.outline]})
    assert [s.heading for s in idea.outline] == re.findall(r"<h2>(.*?)</h2>", article.data.html)[:len(idea.outline)]
    plan = engine.run_stage("image_prompts", {"author": "a", "image_style": engine.settings.image_style,
                                              "max_images": engine.settings.max_images, "language": "en",
                                              "title": article.data.title,
                                              "content": article.data.html})
    assert len(plan.data.images) == engine.settings.max_images
    images = engine.generate_images(plan.data.images[0].prompt)
    assert images.usage.images == 1 and images.usage.model == "runware:97@1"
    assert images.images[0].data.startswith(b"\x89PNG") and (images.images[0].width, images.images[0].height) == (
        1024, 1024)
