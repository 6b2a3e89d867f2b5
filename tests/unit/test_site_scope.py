"""Every table says how its records of a site are found (models/site_scope.py), so none is left behind.

Enumerates every table of chalicelib/registry.py: a table added later (whoever adds it) fails here
until it declares ``site_scope`` -- a rule the deletion runs, or why its records are kept or are
not a site's. A table whose records visibly belong to a site (a site attribute, or a key built
from the site) may not claim to have none. The rules must also be runnable: parents known,
indexes real, children ordered before their parents, the site itself last.
"""

from __future__ import annotations

import pytest
from pynamodb.models import Model

from chalicelib.models import site_scope as rules
from chalicelib.models.accounts import Sector, Site
from chalicelib.registry import table_models
from chalicelib.services import deletion

MODELS = table_models()


def declared(model: type[Model], attr: str) -> rules.Scope | None:
    """The rule the model (or a base of it below PynamoDB's Model) declares."""
    for cls in model.__mro__:
        if cls in (Model, object) or cls.__module__.startswith("pynamodb"):
            continue
        if attr in vars(cls):
            return vars(cls)[attr]
    return None


def site_shaped(model: type[Model]) -> list[str]:
    """Why a table's records look like a site's: a site attribute, or a key named after the site."""
    attrs = model.get_attributes()
    reasons = [f"attribute {name}" for name in ("site_id", "site_key") if name in attrs]
    hash_name = model._hash_key_attribute().attr_name
    if "site" in hash_name:
        reasons.append(f"hash key {hash_name}")
    return reasons


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.Meta.table_name)
def test_every_table_declares_how_its_site_records_are_found(model):
    rule = declared(model, "site_scope")
    assert isinstance(rule, rules.Scope), (
        f"{model.__name__} ({model.Meta.table_name}) declares no site_scope: say how its records of one site "
        "are found (Partition, Item, ChildrenOf, ChildOf, Itself), or why it has none (NotSiteScoped) or keeps "
        "them (Kept) -- see chalicelib/models/site_scope.py")


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.Meta.table_name)
def test_a_table_whose_records_belong_to_a_site_is_not_called_site_free(model):
    reasons = site_shaped(model)
    if reasons:
        assert not isinstance(declared(model, "site_scope"), rules.NotSiteScoped), (
            f"{model.__name__} has {', '.join(reasons)} but declares NotSiteScoped: deleting a site would leave "
            "its records behind")


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.Meta.table_name)
def test_a_table_with_sector_records_declares_how_a_sector_finds_them(model):
    """Records that carry a sector (or are keyed by one) are deleted with it, or kept on purpose."""
    attrs = model.get_attributes()
    has_sector = "sector_id" in attrs and model is not Sector
    if has_sector:
        assert isinstance(declared(model, "sector_scope"), rules.Scope), (
            f"{model.__name__} has sector_id but declares no sector_scope")


def test_the_rules_can_run():
    by_model = {m: (declared(m, "site_scope"), declared(m, "sector_scope")) for m in MODELS}
    for model, scopes in by_model.items():
        for kind, rule in zip(("site", "sector"), scopes, strict=True):
            if isinstance(rule, rules.ChildrenOf | rules.ChildOf):
                assert rule.parent in by_model, f"{model.__name__}: parent {rule.parent.__name__} is not a table"
                parent_rule = by_model[rule.parent][0 if kind == "site" else 1]
                assert isinstance(parent_rule, rules.Partition | rules.Item | rules.SectorIndex
                                  | rules.SectorPartition), (
                    f"{model.__name__}'s {kind} parent {rule.parent.__name__} must be found directly")
            if isinstance(rule, rules.SectorIndex):
                index = getattr(model, rule.index, None)
                assert index is not None and index.Meta.index_name == rule.index, (model.__name__, rule.index)
    assert [m for m in MODELS if isinstance(by_model[m][0], rules.Itself)] == [Site]
    assert [m for m in MODELS if isinstance(by_model[m][1], rules.Itself)] == [Sector]


@pytest.mark.parametrize("kind", ["site", "sector"])
def test_the_plan_deletes_children_first_and_the_record_itself_last(kind):
    steps = deletion.plan(kind)
    names = [s.name for s in steps]
    assert steps[-1].model is (Site if kind == "site" else Sector)
    assert names.index("files") < names.index("content_images" if kind == "sector" else "sites")
    for position, step in enumerate(steps):
        parent = getattr(step.rule, "parent", None)
        if parent is not None:
            assert position < names.index(deletion.short_name(parent)), f"{step.name} after its parent"
    deleted = {m for m in MODELS if getattr(declared(m, deletion.scope_attr(kind)), "deletes", False)}
    assert {s.model for s in steps if s.model is not None} == deleted
    if kind == "site":
        assert "credit_ledger" not in names and "deletions" not in names  # kept: money history, the poll record
        assert {"keywords", "keyword_names", "content_bodies", "job_items", "publishing_records", "webhook_routes",
                "webhook_nonces", "site_integrations", "automation_runs", "automation_configs", "publish_slots",
                "publish_counters", "publishing_settings"} <= set(names)
