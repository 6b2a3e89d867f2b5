"""The platform's default records, and seeding them (``make seed``, the local stack, the cloud).

Seeding only ever creates what is missing (conditional puts), so it can run on every
start and never undoes a staff edit: running it twice changes nothing.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from chalicelib.ai.stages import STAGES
from chalicelib.errors import ApiError
from chalicelib.models.accounts import GLOBAL_SCOPE, Industry
from chalicelib.models.modules import MODULE_DEFAULTS, ModuleEnableSettings
from chalicelib.models.system import (
    AIModelConfig,
    AIPrompt,
    AuthorProfile,
    CreditCostConfig,
    IntegrationProvider,
    Setting,
)
from chalicelib.services import ai_models, ai_settings, plans
from chalicelib.services.system_store import put_if_absent
from chalicelib.services.ttl_cache import clear_all

PROVIDERS: list[dict[str, Any]] = [
    dict(provider_id="openai", display_name="OpenAI", provider_type="ai", api_endpoint="https://api.openai.com/v1"),
    dict(provider_id="runware", display_name="Runware", provider_type="ai", api_endpoint="https://api.runware.ai/v1"),
    dict(provider_id="anthropic", display_name="Anthropic", provider_type="ai",
         api_endpoint="https://api.anthropic.com/v1"),
    dict(provider_id="stripe", display_name="Stripe", provider_type="payment", api_endpoint="https://api.stripe.com"),
    dict(provider_id="paypal", display_name="PayPal", provider_type="payment",
         api_endpoint="https://api-m.paypal.com", is_active=False),
    dict(provider_id="resend", display_name="Resend", provider_type="email", api_endpoint="https://api.resend.com"),
]

_SQUARE, _WIDE, _TALL = "1024x1024", "1792x1024", "1024x1792"
MODELS: list[dict[str, Any]] = [
    dict(model_name="gpt-4o", model_type="text", provider="openai", display_name="GPT-4o",
         cost_per_1k_input=Decimal("0.0025"), cost_per_1k_output=Decimal("0.01"), tokens_per_credit=1000,
         max_tokens=16384, context_window=128000,
         capabilities={"vision": True, "function_calling": True, "json_mode": True}),
    dict(model_name="gpt-4o-mini", model_type="text", provider="openai", display_name="GPT-4o mini",
         cost_per_1k_input=Decimal("0.00015"), cost_per_1k_output=Decimal("0.0006"), tokens_per_credit=10000,
         max_tokens=16384, context_window=128000,
         capabilities={"vision": True, "function_calling": True, "json_mode": True}),
    dict(model_name="text-embedding-3-small", model_type="embedding", provider="openai",
         display_name="OpenAI text-embedding-3-small", cost_per_1k_input=Decimal("0.00002"),
         tokens_per_credit=100000, context_window=8191),
    dict(model_name="dall-e-3", model_type="image", provider="openai", display_name="DALL-E 3",
         credits_per_image=5, quality_tier="quality", supported_sizes=[_SQUARE, _WIDE, _TALL]),
    dict(model_name="runware:97@1", model_type="image", provider="runware", display_name="Hi Dream Full",
         credits_per_image=1, quality_tier="basic", supported_sizes=[_SQUARE, "1280x768"]),
    dict(model_name="bria:10@1", model_type="image", provider="runware", display_name="Bria 3.2",
         credits_per_image=5, quality_tier="quality", supported_sizes=[_SQUARE, "1344x768"]),
    dict(model_name="google:4@2", model_type="image", provider="runware", display_name="Nano Banana",
         credits_per_image=15, quality_tier="premium", supported_sizes=[_SQUARE, "1376x768"]),
]
DEFAULT_MODELS = {"text": "gpt-4o-mini", "image": "runware:97@1", "embedding": "text-embedding-3-small"}

# Operation names as billing (chalicelib.services.credits) charges them.
OPERATION_COSTS: list[dict[str, Any]] = [
    dict(operation_type="cluster_keywords", display_name="Keyword clustering", base_credits=1,
         description="Naming one cluster of keywords (embeddings included)."),
    dict(operation_type="generate_ideas", display_name="Idea generation", base_credits=1,
         description="Ideas with outlines for one cluster."),
    dict(operation_type="generate_content", display_name="Article writing", base_credits=2,
         description="One article; more if its tokens cost more."),
    dict(operation_type="generate_image_prompts", display_name="Image prompts", base_credits=1,
         description="Image prompts for one article."),
    dict(operation_type="generate_images", display_name="Image generation", base_credits=1,
         description="Per image; the model's credits_per_image applies when higher."),
    dict(operation_type="optimize_content", display_name="Content optimisation", base_credits=2,
         description="Rewriting an article for its keywords."),
]

# Instructions first, placeholders last: see chalicelib.ai.prompts on prompt caching.
PROMPTS: dict[str, dict[str, str]] = {
    "clustering": dict(description="Names a cluster of related keywords.", text="""\
You are an SEO strategist who names keyword clusters for a content plan.

You get a group of search keywords that belong together. Write:
- name: a short topic name (2 to 5 words, Title Case) that a reader would recognise as the subject of
  one pillar article;
- description: one or two sentences on the search intent the keywords share.

Rules: write in the language of the keywords; do not invent brand names; prefer the words searchers use.

Sector: {{ sector }}
Keywords:
{{ keywords }}"""),
    "ideas": dict(description="Turns a cluster into article ideas with outlines.", text="""\
You are an SEO content strategist who turns a keyword cluster into article ideas.

For each idea write:
- title: a specific, compelling headline of at most 70 characters;
- description: two or three sentences naming the reader, their question and the article's angle;
- primary_keyword: the one keyword from the cluster that the article targets;
- secondary_keywords: up to five other keywords from the cluster that the article also covers;
- outline: four to seven sections, each a heading with zero to three subheadings.

- content_type: the key of the content type that serves the idea best, from the list below.

Rules: no two ideas may compete for the same search query; prefer practical, evergreen angles;
use only keywords from the cluster as primary and secondary keywords; write titles, descriptions and
outlines in the author's language and voice; follow the site's content strategy.

Author and voice:
{{ author }}
Language: {{ language }}
Content strategy:
{{ strategy }}
Industry: {{ industry }}
Content types:
{{ content_types }}
Sector: {{ sector }}
Number of ideas: {{ count }}
Cluster: {{ cluster_name }}
Cluster description: {{ cluster_description }}
Keywords:
{{ keywords }}"""),
    "content_generation": dict(description="Writes an article in HTML from an idea's brief and outline.", text="""\
You are an expert SEO writer who writes complete, publish-ready blog articles in HTML.

Write the article body in HTML: an <h2> for each outline section and an <h3> for each of its subheadings,
<p> paragraphs, and <ul> or <ol> lists where they help the reader. No <h1> (the title is separate), no
<html>, <head> or <body>, no scripts, styles, inline CSS or images.
Use the primary keyword in the first paragraph and in at least one <h2>; use the secondary keywords where
they fit naturally; never stuff keywords. Follow the outline in order, aim for the target length, and end
with a short conclusion.
Give the article the structure its content type asks for. Where it asks for an FAQ, end with an <h2>
FAQ section whose questions are <h3>s, and return the same questions and answers in the faq field.
Also write: meta_title (at most 60 characters, containing the primary keyword), meta_description (at most
155 characters, giving a reason to click), slug (lower-case words joined by hyphens) and excerpt (one or
two sentences). Write the article, the meta fields and the excerpt in the author's language, in their voice.

Author and voice:
{{ author }}
Language: {{ language }}
Content strategy:
{{ strategy }}
Industry: {{ industry }}
Content type: {{ content_type }}
Structure: {{ structure }}
Target length: {{ word_count }} words
Title: {{ title }}
Brief: {{ description }}
Primary keyword: {{ primary_keyword }}
Secondary keywords:
{{ secondary_keywords }}
Outline:
{{ outline }}"""),
    "image_prompts": dict(description="Writes image-generator prompts for an article.", text="""\
You are an art director who writes prompts for an image generator to illustrate a blog article.

Write one featured image (position 0, is_featured true), then one image per main section, up to the
maximum number of images in total. For each image:
- prompt: a vivid, concrete description of the scene in the requested style; no text, letters, logos or
  watermarks in the image;
- alt_text: a short description for screen readers, under 125 characters, in the article's language;
- caption: one short sentence shown under the image, in the article's language;
- position: 0 for the featured image, otherwise the number of the <h2> section it follows (1, 2, ...);
- is_featured: true for the featured image only.

Image style: {{ image_style }}
Maximum number of images: {{ max_images }}
Language: {{ language }}
Article title: {{ title }}
Article:
{{ content }}"""),
}

AUTHOR_PROFILES: list[dict[str, Any]] = [
    dict(profile_id="professional", name="Professional expert", tone="professional",
         description="An experienced practitioner writing for informed readers.",
         instructions="Be precise and confident; back claims with reasons; avoid hype and filler."),
    dict(profile_id="friendly-guide", name="Friendly guide", tone="casual",
         description="A helpful friend who explains things simply.",
         instructions="Use short sentences and everyday words; address the reader as 'you'; stay warm."),
    dict(profile_id="technical-specialist", name="Technical specialist", tone="technical",
         description="An engineer writing for a technical audience.",
         instructions="Use exact terms, numbers and steps; prefer lists for procedures; no marketing tone."),
]

INDUSTRIES: list[dict[str, str]] = [
    dict(industry_id="technology", name="Technology", description="Software, hardware, gadgets and the web."),
    dict(industry_id="health-wellness", name="Health & Wellness", description="Fitness, nutrition, well-being."),
    dict(industry_id="finance", name="Finance", description="Personal finance, investing, banking."),
    dict(industry_id="home-garden", name="Home & Garden", description="Home improvement, DIY, gardening."),
    dict(industry_id="travel", name="Travel", description="Destinations, planning, travel gear."),
    dict(industry_id="ecommerce", name="E-commerce & Retail", description="Online shops and product guides."),
]


def builtin_prompt(prompt_type: str) -> str | None:
    entry = PROMPTS.get(prompt_type)
    return entry["text"] if entry else None


def _seed_default(model_name: str) -> bool:
    try:
        return ai_models.set_default(model_name, only_if_unset=True)
    except ApiError:  # staff deleted or switched off the model: their choice stands
        return False


def seed_system_defaults() -> dict[str, int]:
    """Create every default record that does not exist yet; return how many were created."""
    counts = {
        "plans": plans.seed_builtin_plans(),
        "industries": sum(put_if_absent(Industry(GLOBAL_SCOPE, **i)) for i in INDUSTRIES),
        "providers": sum(put_if_absent(IntegrationProvider(GLOBAL_SCOPE, **p)) for p in PROVIDERS),
        "ai_models": sum(put_if_absent(AIModelConfig(GLOBAL_SCOPE, **m)) for m in MODELS),
        "system_ai_settings": sum(put_if_absent(Setting(GLOBAL_SCOPE, spec.key, value=spec.default))
                                  for spec in ai_settings.SETTINGS.values() if spec.system_field),
        "module_settings": int(put_if_absent(ModuleEnableSettings(
            GLOBAL_SCOPE, **{f"{module}_enabled": on for module, on in MODULE_DEFAULTS.items()}))),
        "prompts": sum(put_if_absent(AIPrompt(GLOBAL_SCOPE, prompt_type, prompt_value=p["text"],
                                              variables=list(STAGES[prompt_type].variables),
                                              description=p["description"]))
                       for prompt_type, p in PROMPTS.items()),
        "author_profiles": sum(put_if_absent(AuthorProfile(GLOBAL_SCOPE, **a)) for a in AUTHOR_PROFILES),
        "credit_costs": sum(put_if_absent(CreditCostConfig(GLOBAL_SCOPE, **c)) for c in OPERATION_COSTS),
    }
    counts["default_models"] = sum(_seed_default(name) for name in DEFAULT_MODELS.values())
    clear_all()
    return counts
