"""Every recipe the project ships validates, and its corpus references have the expected form."""

from pathlib import Path

import pytest

from nlpseq.recipe import load_recipe

ROOT = Path(__file__).resolve().parent.parent
RECIPES = sorted((ROOT / "recipes").rglob("*.yaml"))


def test_there_are_recipes_for_every_family():
    tasks = {load_recipe(p).task for p in RECIPES}
    assert {"sentiment", "tree_sentiment", "translation", "parsing", "language_model", "forecast"} <= tasks


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.relative_to(ROOT / "recipes").as_posix())
def test_recipe_validates_and_round_trips(path):
    recipe = load_recipe(path)
    from nlpseq.recipe import build_recipe

    import yaml

    again = build_recipe(yaml.safe_load(recipe.dump()))
    assert again.to_dict() == recipe.to_dict()
