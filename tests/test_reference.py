"""The generated reference pages cover what the code declares: every recipe key (with its meaning),
every verb and flag, every HTTP endpoint."""

from __future__ import annotations

import argparse

from nlpseq.cli import build_parser
from nlpseq.config import Section
from nlpseq.reference import cli_page, http_page, openapi_schema, recipes_page
from nlpseq.registry import MODELS, TASKS


def _sections():
    from nlpseq.train.config import TrainConfig

    yield "train", TrainConfig
    for _, task in TASKS.items():
        yield "data", task.DataConfig
        yield "text", task.TextConfig
        if getattr(task, "DecodeConfig", None):
            yield "decode", task.DecodeConfig
    for _, model in MODELS.items():
        yield "model", model.Config


def test_every_recipe_key_is_described_once_in_the_code_and_listed_on_the_page():
    page = recipes_page()
    undescribed = []
    for prefix, section in _sections():
        assert issubclass(section, Section)
        if not section.__module__.startswith("nlpseq."):
            continue  # sections that tests define (tests/test_extending.py) are not the package's
        for name, field in section.model_fields.items():
            if not field.description:
                undescribed.append(f"{section.__qualname__}.{name}")
            assert f"| `{prefix}.{name}` |" in page, f"{prefix}.{name} is missing from the recipe reference"
    assert undescribed == []


def test_the_recipe_page_gives_types_bounds_defaults_and_choices():
    page = recipes_page()
    assert "| `train.epochs` | int (>= 1) | `10` | passes over the training data" in page
    assert "| `train.select` | one of `best`, `loss`, `last`, `average` | `\"best\"` |" in page
    assert "| `train.max_steps` | int or null (>= 1) | `null` |" in page


def test_every_verb_and_flag_is_on_the_cli_page():
    page = cli_page()
    parser = build_parser(task_verbs=True)
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for verb, p in sub.choices.items():
        assert f"## nlpseq {verb}\n" in page
        for action in p._actions:
            for flag in action.option_strings:
                if flag not in ("-h", "--help"):
                    assert f"`{flag}`" in page, f"{verb} {flag}"


def test_every_endpoint_is_on_the_http_page():
    page = http_page()
    paths = openapi_schema()["paths"]
    assert {"/v1/sentiment", "/v1/translation", "/v1/parsing", "/healthz"} <= set(paths)
    for path, methods in paths.items():
        for method in methods:
            assert f"## {method.upper()} {path}\n" in page
    assert "| `texts` |" in page and "| `beam` |" in page
