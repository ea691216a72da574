"""What a task declares (pipeline names, evaluation options) is what the CLI and nlpseq.pipeline offer."""

import pytest

import nlpseq
from nlpseq.api import pipeline_tasks
from nlpseq.errors import RecipeError
from nlpseq.registry import TASKS

from ..conftest import run_cli


def test_pipeline_names_and_aliases_come_from_the_tasks():
    table = pipeline_tasks()
    assert table["sentiment"] == ("sentiment", "tree_sentiment") == table["sentiment-analysis"]
    assert table["translation"] == ("translation",) and table["next-word"] == ("language_model",)
    assert {t for tasks in table.values() for t in tasks} == {n for n, cls in TASKS.items() if cls.pipelines}


def test_a_pipeline_alias_answers_like_its_name(tiny_run):
    text = ["A wonderful, moving film."]
    alias = nlpseq.pipeline("sentiment-analysis", model=tiny_run)
    assert alias(text) == nlpseq.pipeline("sentiment", model=tiny_run)(text)
    with pytest.raises(RecipeError, match="did you mean 'sentiment'"):
        nlpseq.pipeline("sentimnt", model=tiny_run)


def test_evaluate_refuses_options_the_task_does_not_declare(tiny_run):
    for flag, value, taker in (("--beam", "5", "translation"), ("--decode", "cky", "parsing"),
                               ("--parser", str(tiny_run), "tree_sentiment")):
        res = run_cli("evaluate", str(tiny_run), flag, value)
        assert res.returncode == 2 and f"only {taker} runs take it" in res.stderr and "Traceback" not in res.stderr
