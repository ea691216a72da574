"""The models that ship in nlpseq/shipped: intact, within the size budget, answering the first call
with no network and no run folder; the slow test re-scores every figure on their cards."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys

import pytest
import yaml

import nlpseq
from nlpseq import catalog
from nlpseq.catalog import read_manifest, verify
from nlpseq.version import RUN_FORMAT

from .conftest import ROOT, real_data, run_cli

MODELS = read_manifest()
SIZE_BUDGET = 40_000_000  # bytes of every shipped file together


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """A shipped model is answered from the package alone: any connection attempt fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError("a shipped model tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_every_shipped_model_is_listed_intact_and_the_whole_fits_the_budget():
    names = {m.name for m in MODELS}
    assert {"sentiment-en", "phrase-sentiment-en", "sst-shape-parser-en", "parser-en", "translator-de-en"} <= names
    catalog._verified.clear()
    for model in MODELS:
        assert verify(model) == model.path
        info = json.loads((model.path / "run.json").read_text())
        assert info["run_format"] <= RUN_FORMAT and info["task"] == model.task
        assert set(model.files) == {str(p.relative_to(model.path)) for p in model.path.rglob("*") if p.is_file()}
        assert not any(name.endswith((".pt", ".pkl", ".bin")) for name in model.files)  # safetensors only
    assert sum(model.size for model in MODELS) <= SIZE_BUDGET


def test_the_default_sentiment_model_reads_negation():
    answers = nlpseq.pipeline("sentiment-analysis")(["not good at all", "a wonderful film", "not bad at all",
                                                     "It is not a bad film."], phrases=False)
    assert [a["label"] for a in answers] == ["negative", "positive", "positive", "positive"]


def test_the_first_calls_of_the_readme_answer(tmp_path):
    res = subprocess.run([sys.executable, "-c", "import nlpseq; print(nlpseq.pipeline('sentiment-analysis')"
                          "(['not good at all', 'a wonderful film']))"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    labels = re.findall(r"'label': '(\w+)'", res.stdout)
    assert labels[:1] == ["negative"] and "positive" in labels
    # the default names itself, its domain, its figure and how to pin it, in one line
    notice = [line for line in res.stderr.splitlines() if "no model given" in line]
    assert len(notice) == 1 and "sentiment-en@" in notice[0] and "model='sentiment-en@" in notice[0]

    res = run_cli("translate", "Ein Hund rennt durch den Park.")
    assert res.returncode == 0, res.stderr
    assert "dog" in res.stdout.lower() and "park" in res.stdout.lower()


def test_the_shipped_parser_and_phrase_model_answer_raw_text():
    tree = nlpseq.pipeline("parsing")("The old dog chased a ball in the park.")[0]["tree"]
    assert tree.startswith("(S") and "(NP" in tree and "(VP" in tree
    answer = nlpseq.pipeline("sentiment", model="phrase-sentiment-en")("The movie was not good at all.")[0]
    assert answer["label"] in ("negative", "very negative")
    assert len(answer["phrases"]) == 2 * len(answer["phrases"][-1]["text"].split()) - 1  # a label on every node


def test_a_long_text_is_parsed_sentence_by_sentence():
    text = " ".join(["The acting is superb and the story moved me deeply."] * 30)  # 330 words, 30 sentences
    answer = nlpseq.pipeline("sentiment-analysis")(text)[0]
    assert answer["label"] == "positive"
    assert answer["phrases"][-1]["text"].count("superb") == 30


def test_models_lists_and_shows_cards():
    res = run_cli("models")
    assert res.returncode == 0, res.stderr
    for model in MODELS:
        assert model.ref in res.stdout
    res = run_cli("models", "show", "sentiment-en")
    assert res.returncode == 0 and res.stdout.startswith("---\n")
    header = yaml.safe_load(res.stdout.split("---\n")[1])
    assert header["name"] == "sentiment-en" and header["figures"]
    res = run_cli("models", "show", "sentiment-enn")
    assert res.returncode == 2 and "did you mean 'sentiment-en'" in res.stderr


def _card_commands() -> list[tuple[str, str, dict]]:
    out = []
    for model in MODELS:
        text = (model.path / "card.md").read_text(encoding="utf-8")
        header = yaml.safe_load(text.split("---\n")[1])
        for line in text.splitlines():
            if line.startswith("    nlpseq evaluate "):
                out.append((model.ref, line.strip(), header["figures"]))
    return out


@pytest.mark.slow
@pytest.mark.skipif(not real_data(), reason="the cards' figures are on the real corpora (NLPSEQ_DATA)")
@pytest.mark.parametrize("ref, command, figures", _card_commands(), ids=lambda v: v if isinstance(v, str) and
                         "@" in v and " " not in v else None)
def test_every_card_figure_is_what_its_recorded_command_gives(ref, command, figures):
    args = command.split()[1:]
    res = run_cli(*args, "--json", timeout=1800)
    assert res.returncode == 0, res.stderr
    got = json.loads(res.stdout)
    key = " ".join(args[3:4] + [a for a in args[4:] if a.startswith("--parser")])
    for metric, value in figures[key].items():
        assert got[metric] == pytest.approx(value, abs=0.05), (ref, metric)


def test_the_readme_quotes_every_shipped_model_as_its_card_does():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for model in MODELS:
        row = next((line for line in readme.splitlines() if line.startswith(f"| `{model.ref}` |")), None)
        assert row is not None, f"{model.ref} has no row in the README's figures table"
        card = (model.path / "card.md").read_text(encoding="utf-8")
        for figure in re.findall(r"\*\*([\d.]+)\*\* \[([\d.]+), ([\d.]+)\]", row):
            assert f"{figure[0]} [{figure[1]}, {figure[2]}]" in card, (model.ref, figure)


def test_the_service_with_no_model_flag_serves_the_shipped_models_tree_models_with_their_parser():
    from fastapi.testclient import TestClient

    from nlpseq.serve import create_app, load_served

    models = {"sentiment": load_served("sentiment", "sentiment-en", in_process=True, pipeline="sentiment"),
              "phrase-sentiment": load_served("phrase-sentiment", "phrase-sentiment-en", in_process=True)}
    with TestClient(create_app(models)) as client:
        res = client.post("/v1/sentiment", json={"texts": ["not bad at all"], "phrases": False})
        assert res.status_code == 200, res.text
        assert res.json()["results"][0]["label"] == "positive"
        res = client.post("/v1/phrase-sentiment", json={"text": "The movie was not good at all.", "phrases": True})
        assert res.status_code == 200 and len(res.json()["results"][0]["phrases"]) == 15
        listed = {m["endpoint"]: m["parser"] for m in client.get("/v1/models").json()["models"]}
        assert listed == {"/v1/sentiment": "sst-shape-parser-en", "/v1/phrase-sentiment": "sst-shape-parser-en"}
