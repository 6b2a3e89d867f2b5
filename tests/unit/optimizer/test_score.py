"""The content score: deterministic, explained factor by factor, each factor moving the total."""

from __future__ import annotations

from chalicelib.services.optimizer import readability
from chalicelib.services.optimizer.score import STUFFING_PENALTY, WEIGHTS, ScoreInput, score

PLAIN = ("Good coffee starts with fresh beans. Grind them just before you brew. Use water that is hot but not "
         "boiling. Measure the coffee and the water each time. Clean the machine once a week. ")


def article(**overrides: object) -> ScoreInput:
    body = ("<p>Home espresso is easy to learn. " + PLAIN * 2 + "</p>"
            "<h2>Choosing an espresso grinder</h2><p>" + PLAIN * 8 + "A burr grinder gives even grounds. "
            "See <a href=\"https://example.org/study\">this study</a> and "
            "<a href=\"/milk-frothing\">our milk guide</a> and <a href=\"/beans\">our bean guide</a>.</p>"
            "<h2>Milk frothing basics</h2><p>" + PLAIN * 8 + "</p><img src=\"/a.png\" alt=\"A cup\">"
            "<h2>Cleaning your machine</h2><p>" + PLAIN * 8 + "</p>"
            "<h2>FAQ</h2><h3>Is home espresso hard?</h3><p>" + PLAIN * 4 + "</p>")
    values: dict[str, object] = dict(
        title="Home espresso: a beginner's guide", body_html=body,
        meta_title="Home espresso for beginners: the complete guide",
        meta_description="Home espresso made simple: choose a grinder, froth milk and keep your machine clean. "
                         "A plain guide for beginners.",
        keywords=["home espresso", "espresso grinder", "milk frothing"], content_type="blog_article")
    values.update(overrides)
    return ScoreInput(**values)  # type: ignore[arg-type]


def factor(result: dict, name: str) -> dict:
    return next(f for f in result["factors"] if f["factor"] == name)


def test_the_weights_sum_to_one_hundred() -> None:
    assert sum(w for w, _ in WEIGHTS.values()) == 100


def test_the_score_is_deterministic_and_every_factor_is_explained() -> None:
    first, second = score(article()), score(article())
    assert first == second
    assert 0 <= first["score"] <= 100
    for f in first["factors"]:
        assert {"factor", "label", "weight", "value", "points", "applicable", "advice"} <= set(f)
        if f["applicable"] and f["value"] < 1 and f["weight"] > 0:
            assert f["advice"], f


def test_a_well_made_article_scores_high() -> None:
    result = score(article())
    weak = [f["factor"] for f in result["factors"] if f["applicable"] and f["value"] < 1 and f["weight"] > 0]
    assert result["score"] >= 80, weak
    assert result["band"] == "high"


def test_the_primary_keyword_is_looked_for_in_title_intro_slug_and_meta() -> None:
    result = score(article(title="A beginner's guide", meta_title="A guide", meta_description="x" * 130))
    for name in ("keyword_in_title", "keyword_in_h1", "keyword_in_slug", "keyword_in_meta"):
        assert factor(result, name)["value"] == 0, name
        assert "home espresso" in factor(result, name)["advice"].replace("-", " ")
    assert factor(result, "keyword_in_intro")["value"] == 1
    assert result["score"] < score(article())["score"]


def test_without_a_primary_keyword_the_advice_says_to_set_one() -> None:
    result = score(article(keywords=[]))
    assert "primary keyword" in factor(result, "keyword_in_title")["advice"]
    assert factor(result, "secondary_in_body")["applicable"] is False


def test_missing_secondary_keywords_are_named() -> None:
    result = score(article(keywords=["home espresso", "espresso grinder", "latte art"]))
    assert factor(result, "secondary_in_body")["value"] == 0.5
    assert "latte art" in factor(result, "secondary_in_body")["advice"]


def test_length_is_judged_against_the_content_type() -> None:
    short = score(article(content_type="blog_article"))
    assert factor(short, "length")["value"] < 1 or factor(short, "length")["advice"] == ""
    product = score(article(content_type="product_description"))  # 150-400 words: this one is too long
    assert factor(product, "length")["value"] < 1
    assert "Cut about" in factor(product, "length")["advice"]


def test_faq_counts_only_where_the_type_expects_one() -> None:
    no_faq = article(body_html=article().body_html.replace("<h2>FAQ</h2><h3>Is home espresso hard?</h3>", ""))
    assert factor(score(no_faq), "faq")["value"] == 0
    listicle = score(article(body_html=no_faq.body_html, content_type="listicle"))
    assert factor(listicle, "faq")["applicable"] is False
    assert factor(listicle, "faq")["points"] == 0


def test_heading_structure_rewards_sections_and_punishes_skipped_levels() -> None:
    skipped = score(article(body_html="<h1>One</h1><h1>Two</h1><h4>Deep</h4><p>" + PLAIN + "</p>"))
    f = factor(skipped, "headings")
    assert f["value"] < 0.3
    assert "keep one H1" in f["advice"] and "skip heading levels" in f["advice"]


def test_images_without_alt_text_are_counted() -> None:
    body = article().body_html.replace('alt="A cup"', "")
    assert factor(score(article(body_html=body)), "image_alt")["value"] == 0
    assert factor(score(article(body_html=body, image_alts=["Espresso shot"])), "image_alt")["value"] == 0.5


def test_links_to_the_site_count_as_internal_and_others_as_external() -> None:
    result = score(article())
    assert factor(result, "internal_links")["value"] == 1
    assert factor(result, "external_links")["value"] == 1
    bare = score(article(body_html="<p>" + PLAIN * 20 + "</p>"))
    assert factor(bare, "internal_links")["value"] == 0 and factor(bare, "external_links")["value"] == 0


def test_absolute_links_to_the_sites_own_host_are_internal() -> None:
    body = '<p>Read <a href="https://www.shop.example/a">a</a> and <a href="https://shop.example/b">b</a>.</p>'
    assert factor(score(article(body_html=body, site_host="shop.example")), "internal_links")["value"] == 1
    assert factor(score(article(body_html=body)), "internal_links")["value"] == 0


def test_meta_lengths_outside_their_ranges_lose_points() -> None:
    result = score(article(meta_title="", meta_description="Short."))
    assert factor(result, "meta_title_length")["value"] == 0
    assert 0 < factor(result, "meta_description_length")["value"] < 1


def test_keyword_stuffing_is_a_penalty() -> None:
    stuffed = article(body_html="<p>" + "home espresso is great. " * 80 + "</p>")
    result = score(stuffed)
    penalty = factor(result, "keyword_stuffing")
    assert penalty["weight"] == -STUFFING_PENALTY and penalty["value"] == 1
    assert penalty["points"] == -STUFFING_PENALTY
    assert "use it less" in penalty["advice"]
    assert factor(score(article()), "keyword_stuffing")["points"] == 0


def test_readability_uses_the_languages_formula_and_skips_languages_without_one() -> None:
    assert readability.reading_ease(PLAIN * 3, "en") > readability.reading_ease(
        "Comprehensive institutional considerations necessitate extraordinarily sophisticated "
        "methodological interpretations. " * 8, "en")
    assert readability.reading_ease(PLAIN * 3, "de") is not None
    assert readability.reading_ease(PLAIN * 3, "ja") is None
    japanese = score(article(language="ja"))
    assert factor(japanese, "readability")["applicable"] is False
    assert "No reading-ease formula" in factor(japanese, "readability")["advice"]


def test_a_factor_left_out_does_not_cost_points() -> None:
    listicle = score(article(content_type="listicle"))
    assert listicle["score"] <= 100
    assert sum(f["weight"] for f in listicle["factors"] if f["applicable"] and f["weight"] > 0) < 100
