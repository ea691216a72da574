import pytest

from nlpseq.errors import RecipeError
from nlpseq.recipe import build_recipe, load_recipe

from .conftest import TINY_RECIPE


def base():
    return {"task": "sentiment", "data": {"train": "a.txt", "dev": "b.txt"}, "model": {"name": "rnn_classifier"}}


def test_defaults_are_filled_in_and_dumped():
    r = build_recipe(base())
    assert r.train.optimizer == "adam" and r.model.hidden_size > 0
    assert "hidden_size" in r.dump() and "clip_norm" in r.dump()


def test_unknown_key_names_the_closest():
    tree = base()
    tree["model"]["hiden_size"] = 3
    with pytest.raises(RecipeError, match=r"unknown key 'model.hiden_size' \(did you mean 'hidden_size'\?\)"):
        build_recipe(tree)
    with pytest.raises(RecipeError, match="did you mean 'train'"):
        build_recipe({**base(), "trian": {}})


def test_wrong_type_names_the_key():
    tree = base()
    tree["train"] = {"lr": "fast"}
    with pytest.raises(RecipeError, match="train.lr"):
        build_recipe(tree)


def test_unknown_task_and_model():
    with pytest.raises(RecipeError, match="unknown task 'sentimnet'.*did you mean 'sentiment'"):
        build_recipe({"task": "sentimnet"})
    with pytest.raises(RecipeError, match="unknown model"):
        build_recipe({**base(), "model": {"name": "transformer"}})


def test_set_overrides_are_typed():
    r = load_recipe(TINY_RECIPE, ["train.lr=0.5", "model.bidirectional=false", "train.clip_norm=null"])
    assert r.train.lr == 0.5 and r.model.bidirectional is False and r.train.clip_norm is None
    with pytest.raises(RecipeError, match="model.hidden_size"):
        load_recipe(TINY_RECIPE, ["model.hidden_size=big"])
    with pytest.raises(RecipeError, match="expected KEY=VALUE"):
        load_recipe(TINY_RECIPE, ["train.lr"])
    with pytest.raises(RecipeError, match="unknown key 'train.lrr'"):
        load_recipe(TINY_RECIPE, ["train.lrr=1"])


def test_bad_yaml_names_the_line(tmp_path):
    f = tmp_path / "r.yaml"
    f.write_text("task: sentiment\nmodel:\n  name: [unclosed\n")
    with pytest.raises(RecipeError, match=r"r.yaml:\d+: not valid YAML"):
        load_recipe(f)
    with pytest.raises(RecipeError, match="no such recipe file"):
        load_recipe(tmp_path / "absent.yaml")
