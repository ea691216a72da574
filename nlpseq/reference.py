"""Reference pages generated from the code: recipe keys (from each section's field descriptions),
CLI verbs and flags (from the argument parser), the HTTP API (from the service's OpenAPI schema)
and the shipped models (from their cards). ``docs/gen_pages.py`` writes them into the
documentation site at build time, so nothing here is written twice.
"""

from __future__ import annotations

import argparse
import json
import re
import typing
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

SECTIONS = ("data", "text", "model", "train", "decode")


def _type_name(annotation: Any) -> str:
    """A field's type as a reader writes it: ``int``, ``float or null``, ``list of str``."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin is typing.Literal:
        return "one of " + ", ".join(f"`{a}`" for a in args)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        names = [_type_name(a) for a in args if a is not type(None)]
        return " or ".join(names) + (" or null" if type(None) in args else "")
    if origin in (list, tuple, dict):
        inner = ", ".join(_type_name(a) for a in args if a is not Ellipsis)
        return f"{origin.__name__} of {inner}" if inner else origin.__name__
    return getattr(annotation, "__name__", str(annotation)).replace("NoneType", "null")


def _bounds(field: FieldInfo) -> str:
    """The checks pydantic applies to a number: ``>= 1``, ``> 0, < 1``."""
    marks = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}
    found = []
    metadata = list(field.metadata)
    for arg in typing.get_args(field.annotation):  # Count | None: the bounds sit inside the union
        if typing.get_origin(arg) is typing.Annotated:
            for meta in typing.get_args(arg)[1:]:
                metadata += list(getattr(meta, "metadata", [meta]))
    for meta in metadata:
        for key, sign in marks.items():
            value = getattr(meta, key, None)
            if value is not None:
                found.append(f"{sign} {value}")
    return ", ".join(found)


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    value = field.get_default(call_default_factory=True)
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    return "`null`" if value is None else f"`{json.dumps(value, default=str)}`"


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def section_table(cls: type[BaseModel], prefix: str) -> list[str]:
    """A Markdown table of ``cls``'s keys: key, type and allowed values, default, meaning."""
    if not cls.model_fields:
        return ["This section has no keys for this task."]
    rows = ["| key | type and allowed values | default | meaning |", "| --- | --- | --- | --- |"]
    for name, field in cls.model_fields.items():
        kind = _type_name(field.annotation)
        bounds = _bounds(field)
        shown = f"{kind} ({bounds})" if bounds else kind
        rows.append(f"| `{prefix}.{name}` | {_escape(shown)} | {_escape(_default(field))} | "
                    f"{_escape(field.description or '')} |")
    return rows


def recipes_page() -> str:
    """Every recipe key of every section of every task, with the models each task can train."""
    from .registry import MODELS, TASKS
    from .train.config import TrainConfig

    out = ["# Recipe reference", "",
           "Generated from the code: each key's type, default, allowed values and meaning come from the "
           "field that declares it. A recipe holds `task`, `seed`, `description` and the sections below; "
           "an unknown key is an error naming the closest valid one, and `--set SECTION.KEY=VALUE` "
           "overrides any key with the same checks.", ""]
    for name, task in TASKS.items():
        out += [f"## {name}", "", (task.__doc__ or "").strip().splitlines()[0] if task.__doc__ else "", ""]
        out += [f"Models: {', '.join(f'`{m}`' for m in _models_of(task))} (default `{task.default_model}`). "
                f"Pipelines: {', '.join(f'`{p}`' for p in task.pipelines) or 'none'}.", ""]
        out += [f"### {name}: data", ""] + section_table(task.DataConfig, "data") + [""]
        out += [f"### {name}: text", ""] + section_table(task.TextConfig, "text") + [""]
        for model in _models_of(task):
            out += [f"### {name}: model `{model}`", ""] + section_table(MODELS.get(model).Config, "model") + [""]
        decode = getattr(task, "DecodeConfig", None)
        if decode is not None:
            out += [f"### {name}: decode", ""] + section_table(decode, "decode") + [""]
    out += ["## train (every task)", ""] + section_table(TrainConfig, "train") + [""]
    return "\n".join(out)


def _models_of(task: Any) -> list[str]:
    from .registry import MODELS

    return list(dict.fromkeys([*task.models, *(n for n, m in MODELS.items() if task.name in getattr(m, "tasks", ()))]))


def _flag_rows(parser: argparse.ArgumentParser) -> list[str]:
    rows = ["| argument | values | default | meaning |", "| --- | --- | --- | --- |"]
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
            continue
        names = ", ".join(f"`{o}`" for o in action.option_strings) or f"`{action.dest}`"
        if action.choices is not None:
            values = ", ".join(f"`{c}`" for c in action.choices)
        elif action.nargs == 0:
            values = "flag"
        else:
            values = f"`{action.metavar or action.dest.upper()}`" + (" ..." if action.nargs in ("*", "+") else "")
        default = "" if action.default in (None, argparse.SUPPRESS, False, []) else f"`{action.default}`"
        help_text = (action.help or "").replace("%%", "%")
        rows.append(f"| {names} | {_escape(values)} | {_escape(default)} | {_escape(help_text)} |")
    return rows


def cli_page() -> str:
    """Every verb and flag, from the argument parser the ``nlpseq`` command builds."""
    from .cli import build_parser

    parser = build_parser(task_verbs=True)
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {a.dest: a.help for a in sub._choices_actions}
    out = ["# Command-line reference", "",
           "Generated from the argument parser of `nlpseq`. Options of the command itself:", ""]
    out += _flag_rows(parser) + [""]
    for verb, p in sub.choices.items():
        usage = re.sub(r"\s+", " ", p.format_usage().replace("usage: ", "")).strip()
        out += [f"## nlpseq {verb}", "", helps.get(verb) or "", "", f"    {usage}", ""] + _flag_rows(p) + [""]
    return "\n".join(out)


def openapi_schema() -> dict[str, Any]:
    """The service's OpenAPI schema with one endpoint per task that answers a pipeline, named as
    ``nlpseq serve --model RUN`` names it; nothing is loaded or served."""
    from .registry import TASKS
    from .serve import Limits, create_app
    from .serve.loading import ServedModel

    models = {cls.pipelines[0]: ServedModel(name=f"RUN ({name})", task=name, model="", labels=[],
                                            answer=lambda items, **kw: [])
              for name, cls in TASKS.items() if cls.pipelines}
    return create_app(models, Limits()).openapi()


def http_page() -> str:
    """Every endpoint with its request fields and answer, from the OpenAPI schema."""
    schema = openapi_schema()
    components = schema.get("components", {}).get("schemas", {})
    out = ["# HTTP reference", "",
           "Generated from the service's OpenAPI schema (`GET /openapi.json` on a running service; "
           "`/docs` draws it). Each task is served at `POST /v1/NAME`, NAME being the name given to "
           "`--model NAME=RUN` or the task's pipeline name; `nlpseq serve` with no model serves the "
           "shipped ones at `/v1/sentiment`, `/v1/translate`, `/v1/parsing` and `/v1/phrase-sentiment`. "
           "Limits (`nlpseq serve --help`) answer 413, malformed requests 422, a full queue 429, an "
           "overrun 503, each with `{\"error\": ...}`.", ""]
    for path, methods in schema["paths"].items():
        for method, op in methods.items():
            out += [f"## {method.upper()} {path}", "", op.get("summary", ""), ""]
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            if body:
                ref = body.get("$ref", "").rsplit("/", 1)[-1]
                out += _schema_rows(components.get(ref, body), components, "Request fields")
            answer = op.get("responses", {}).get("200", {}).get("content", {}).get("application/json", {})
            ref = answer.get("schema", {}).get("$ref", "").rsplit("/", 1)[-1]
            if ref in components:
                out += _schema_rows(components[ref], components, "Answer fields")
    return "\n".join(out)


def _schema_rows(schema: dict, components: dict, title: str) -> list[str]:
    rows = [f"{title}:", "", "| field | type | default | meaning |", "| --- | --- | --- | --- |"]
    for name, prop in schema.get("properties", {}).items():
        rows.append(f"| `{name}` | {_escape(_json_type(prop))} | "
                    f"{_escape('' if 'default' not in prop else '`' + json.dumps(prop['default']) + '`')} | "
                    f"{_escape(prop.get('description', ''))} |")
    return rows + [""]


def _json_type(prop: dict) -> str:
    if "$ref" in prop:
        return prop["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in prop:
        return " or ".join(_json_type(p) for p in prop["anyOf"])
    if prop.get("type") == "array":
        return f"array of {_json_type(prop.get('items', {}))}"
    if "enum" in prop:
        return "one of " + ", ".join(f"`{v}`" for v in prop["enum"])
    return str(prop.get("type", "any"))


def models_page() -> str:
    """The shipped models: the table of ``nlpseq models``, then every card."""
    from .catalog import as_rows, card_text, read_manifest

    rows = as_rows()
    out = ["# Shipped models", "",
           "Models that ship inside nlpseq and answer with no training: name one (`model=\"NAME\"`, or "
           "`NAME@VERSION` to pin it) or let a task use its default. `nlpseq models` lists them and "
           "`nlpseq models show NAME` prints a card. Every figure on a card was produced by the command "
           "the card records, on data that chose nothing; `make models` retrains them all.", ""]
    if rows:
        keys = list(rows[0])
        out += ["| " + " | ".join(keys) + " |", "|" + " --- |" * len(keys)]
        out += ["| " + " | ".join(_escape(str(r[k])) for k in keys) + " |" for r in rows] + [""]
    for model in read_manifest():
        card = card_text(model)
        body = card.split("\n---\n", 1)[1] if card.startswith("---\n") else card
        # the card's own headings, one level down under the page's
        out += [re.sub(r"^(#+) ", r"#\1 ", body.strip(), flags=re.M), ""]
    return "\n".join(out)


PAGES = {"reference/recipes.md": recipes_page, "reference/cli.md": cli_page, "reference/http.md": http_page,
         "models.md": models_page}
