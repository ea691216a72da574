import pytest

from nlpseq.errors import RecipeError
from nlpseq.recipe import apply_overrides, build_recipe, load_recipe

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
    with pytest.raises(RecipeError, match=r"unknown key 'model.hiden_size' \(did you mean 'model.hidden_size'\?\)"):
        build_recipe(tree)
    with pytest.raises(RecipeError, match="did you mean 'train'"):
        build_recipe({**base(), "trian": {}})
    # a key with words added to a real one is too far for a ratio of matching letters
    with pytest.raises(RecipeError, match=r"unknown key 'train.lr_rate' \(did you mean 'train.lr'\?\)"):
        build_recipe(apply_overrides(base(), ["train.lr_rate=0.1"]))


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


BASE = TINY_RECIPE.read_text(encoding="utf-8")
BOMB = ("a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
        "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n")


@pytest.mark.parametrize("content, message", [
    (BASE.encode() + "description: caf\xe9\n".encode("latin-1"), r":\d+: not UTF-8 text \(byte 0xe9\)"),
    (BASE.replace("seed: 1", "seed: " + "9" * 5000).encode(), "more than 4,300 digits"),
    (BASE.replace("seed: 1", "seed: " + "9" * 4000).encode(), "seed: must be an integer from 0 to 2\\*\\*63 - 1 "
                                                              "\\(got an integer of 4000 digits\\)"),
    (BASE.split("model:")[0].encode() + b"model: rnn_classifier\n", "'model' must be a mapping .* not str"),
    (BASE.split("model:")[0].encode() + b"model: [rnn_classifier]\n", "'model' must be a mapping .* not list"),
    (BASE.encode() + b"description: " + b"[" * 10000 + b"]" * 10000 + b"\n", "nested more than 20 levels"),
    (BASE.encode() + b"description:\n" + b"".join(b"  " * i + b"- \n" for i in range(1, 400)), "nested"),
    (BASE.encode() + b"description: " + b"[" * 30 + b"]" * 30 + b"\n", "nested more than 20 levels"),
    (BASE.encode() + BOMB.encode() + b"description: [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n", "aliases"),
    (BASE.replace("seed: 1", "seed: *d").encode() + BOMB.encode(), "aliases"),
    (BASE.encode() + b"description: [1, 2]\n", "description: must be text, not list"),
])
def test_a_bad_recipe_file_is_one_line_error_at_once(tmp_path, content, message):
    path = tmp_path / "bad.yaml"
    path.write_bytes(content)
    with pytest.raises(RecipeError, match=message) as info:
        load_recipe(path)
    assert "\n" not in str(info.value) and len(str(info.value)) < 300


@pytest.mark.parametrize("override, message", [
    ("seed=" + "9" * 5000, "--set seed: an integer of more than 4,300 digits"),
    ("train.lr=.nan", "train.lr: Input should be a finite number"),
    ("train.epochs=.inf", "train.epochs"),
    ("model=" + "[" * 10000, "--set model: nested more than 20 levels"),
    ("model.dropout=" + "[" * 25 + "]" * 25, "--set model.dropout: nested more than 20 levels"),
    ("train.lr=" + "x" * 100_000, r"train.lr: .*\(got 'xxx.*\.\.\.\)"),
])
def test_a_bad_override_is_one_line_error(override, message):
    with pytest.raises(RecipeError, match=message) as info:
        load_recipe(TINY_RECIPE, [override])
    assert "\n" not in str(info.value) and len(str(info.value)) < 300


def test_an_oversized_recipe_file_is_refused_unread(tmp_path):
    path = tmp_path / "huge.yaml"
    path.write_bytes(BASE.encode() + b"# " + b"x" * (1 << 20) + b"\n")
    with pytest.raises(RecipeError, match="a recipe is at most"):
        load_recipe(path)
