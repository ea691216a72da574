"""The recursive parser end to end on the bundled toy treebank: train, evaluate, parse, and
raw text to phrase sentiment through a parser."""

import json

import pytest
from nltk import Tree

from nlpseq.api import pipeline
from nlpseq.errors import InputError, RecipeError

from ..conftest import ROOT, run_cli

DEV = ROOT / "data" / "treebank-sample" / "dev.mrg"


def test_evaluate_prints_bracket_scores(parser_run):
    res = run_cli("evaluate", str(parser_run), "--data", str(DEV), "--json")
    assert res.returncode == 0, res.stderr
    scores = json.loads(res.stdout)
    assert {"labeled_f1", "unlabeled_f1", "exact_match", "tag_accuracy"} <= scores.keys()
    assert scores["labeled_f1"] > 85 and scores["tag_accuracy"] > 95  # the toy grammar is easy to learn
    greedy = json.loads(run_cli("evaluate", str(parser_run), "--data", str(DEV), "--json",
                                "--decode", "greedy").stdout)
    assert greedy["labeled_f1"] > 70


def test_parse_cli_prints_one_tree_per_sentence(parser_run):
    res = run_cli("parse", str(parser_run), "the old dog chased a ball in the park .", "Anna slept .")
    assert res.returncode == 0, res.stderr
    trees = [Tree.fromstring(line) for line in res.stdout.splitlines()]
    assert trees[0].leaves() == "the old dog chased a ball in the park .".split()
    assert trees[0].label() == "S" and trees[1].leaves() == ["Anna", "slept", "."]
    assert {t.label() for t in trees[0].subtrees()} >= {"NP", "VP"}
    # stdin: a bad line gets a one-line error and an empty output line; the others are parsed.
    res = run_cli("parse", str(parser_run), stdin="a cat waited .\n...\n\nthe man slept .\n")
    assert res.returncode == 2
    assert [bool(x) for x in res.stdout.splitlines()] == [True, False, False, True]
    assert "line 2: is only punctuation" in res.stderr and "line 3: is empty" in res.stderr
    assert "Traceback" not in res.stderr


def test_unparseable_inputs_are_refused(parser_run):
    parse = pipeline("parsing", model=parser_run)
    assert parse("the dog slept .")[0]["tokens"] == ["the", "dog", "slept", "."]
    for bad, message in (("   ", "empty"), ("?! ...", "only punctuation"), ("dog " * 61, "at most 60"),
                         (["ok", 3], "not a string")):
        with pytest.raises(InputError, match=message):
            parse(bad)


def test_raw_text_to_phrase_sentiment(rntn_run, shape_run, tmp_path):
    pipe = pipeline("sentiment", model=rntn_run, parser=shape_run)
    (ans,) = pipe("the film is not good .")
    tree = Tree.fromstring(ans["tree"])
    assert tree.leaves() == ["the", "film", "is", "not", "good", "."]
    assert len(ans["phrases"]) == 2 * 6 - 1  # a label for every phrase of the binary parse
    assert ans["label"] in pipe.labels
    out = tmp_path / "tree.svg"
    res = run_cli("sentiment", str(rntn_run), "--parser", str(shape_run), "the plot is brilliant .",
                  "--render", str(out))
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout.splitlines()[0])["phrases"] and out.read_text().startswith("<svg")
    res = run_cli("evaluate", str(rntn_run), "--data", str(ROOT / "data" / "sentiment-sample" / "dev.txt"),
                  "--parser", str(shape_run), "--json")
    assert res.returncode == 0, res.stderr
    scores = json.loads(res.stdout)
    assert scores["parse_unlabeled_f1"] > 80 and 0 <= scores["root_fine"] <= 100


def test_raw_text_with_a_backslash_word_is_labelled(rntn_run, shape_run, tmp_path):
    """A word ending in a backslash cannot survive a bracket string (it escapes the next bracket),
    so parsed trees go to the tree model as objects; only drawing the answer's string says so."""
    (ans,) = pipeline("sentiment", model=rntn_run, parser=shape_run)("the film \\ is good .")
    assert [p["text"] for p in ans["phrases"] if " " not in p["text"]][:3] == ["the", "film", "\\"]
    res = run_cli("sentiment", str(rntn_run), "--parser", str(shape_run), "the film \\ is good .",
                  "--render", str(tmp_path / "tree.svg"))
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert res.stderr.startswith("nlpseq: error: the tree to render:1: malformed tree")
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr


def test_parser_needs_a_tree_model(tiny_run, parser_run):
    with pytest.raises(RecipeError, match="needs a tree sentiment model"):
        pipeline("sentiment", model=tiny_run, parser=parser_run)
