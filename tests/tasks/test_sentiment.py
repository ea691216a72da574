import json
import os

import pytest
import torch

import nlpseq
from nlpseq.errors import RunDirError
from nlpseq.recipe import load_recipe
from nlpseq.registry import MODELS

from ..conftest import TINY_RECIPE, run_cli


@pytest.fixture(scope="module")
def pipe(tiny_run):
    return nlpseq.pipeline("sentiment", model=tiny_run)


def test_pipeline_answers_label_score_and_distribution(pipe):
    out = pipe(["the plot is very brilliant .", "the script is not good ."])
    assert len(out) == 2
    for ans in out:
        assert set(ans) == {"label", "score", "scores"}
        assert list(ans["scores"]) == ["very negative", "negative", "neutral", "positive", "very positive"]
        assert sum(ans["scores"].values()) == pytest.approx(1.0, abs=1e-5)
        assert ans["score"] == max(ans["scores"].values())
    assert out[0]["label"] in ("positive", "very positive")
    assert out[1]["label"] in ("negative", "very negative")
    assert pipe("the acting is awful .")[0]["label"] in ("negative", "very negative")


def test_pipeline_is_batch_independent(pipe):
    texts = [f"the film is {w} ." for w in ("good", "dull", "new", "superb", "not weak")]
    together = pipe(texts)
    alone = [pipe(t)[0] for t in texts]
    for a, b in zip(together, alone):
        assert a["label"] == b["label"] and a["score"] == pytest.approx(b["score"], abs=1e-5)


@pytest.mark.parametrize("bad, message", [("", "empty"), ("   \n", "empty"), ([1], "not a string"),
                                          (3, "string or a list"), ("x" * 20_001, "over the limit")])
def test_bad_inputs_raise_value_error(pipe, bad, message):
    with pytest.raises(ValueError, match=message):
        pipe(bad)


def test_unknown_words_are_fine(pipe):
    assert pipe("zxqv blorft")[0]["label"]


def test_model_learns_the_toy_treebank(tiny_run):
    res = run_cli("evaluate", str(tiny_run), "--json")
    metrics = json.loads(res.stdout)
    assert metrics["root_fine"] >= 80, metrics
    assert list(tiny_run.glob("confusion_*.png"))


@pytest.mark.skipif(not (os.environ.get("NLTK_DATA") or os.environ.get("NLPSEQ_DATA")), reason="needs VADER's lexicon")
def test_vader_baseline_is_scored_beside_the_model(tiny_run, sst_dev):
    res = run_cli("evaluate", str(tiny_run), "--data", str(sst_dev), "--json", "--baseline", "vader")
    metrics = json.loads(res.stdout)
    vader = metrics["baseline_vader"]
    assert {"root_fine", "root_binary", "macro_f1"} <= vader.keys()
    assert vader["root_binary"] > 55  # a real lexicon beats chance on positive vs negative


def test_cli_reads_arguments_and_stdin(tiny_run):
    res = run_cli("sentiment", str(tiny_run), "the cast is superb .")
    assert json.loads(res.stdout)["label"] in ("positive", "very positive")
    res = run_cli("sentiment", str(tiny_run), stdin="the plot is dull .\n\nthe film is good .\n")
    lines = [json.loads(x) for x in res.stdout.splitlines()]
    assert len(lines) == 3 and "error" in lines[1] and lines[2]["label"] in ("positive", "very positive")


def test_wrong_task_run_dir(tiny_run):
    with pytest.raises(RunDirError, match="not a 'translation' run"):
        nlpseq.load_run(tiny_run, task="translation")


@pytest.mark.parametrize("pooling", ["last", "mean", "max", "attention"])
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_every_pooling_and_cell_trains_a_step(pooling, cell):
    recipe = load_recipe(TINY_RECIPE, [f"model.pooling={pooling}", f"model.cell={cell}", "model.num_layers=2"])
    torch.manual_seed(0)
    model = MODELS.get("rnn_classifier")(recipe.model, vocab_size=20, num_labels=5)
    batch = {"ids": torch.tensor([[5, 6, 7, 8], [9, 10, 0, 0]]), "lengths": torch.tensor([4, 2]),
             "labels": torch.tensor([1, 3])}
    out = model(batch)
    out["loss"].backward()
    assert out["logits"].shape == (2, 5)
    assert model.embed.weight.grad[5:11].abs().sum() > 0
    # Padding never changes the answer: the short sequence alone gives the same logits.
    model.eval()
    alone = model.logits(torch.tensor([[9, 10]]), torch.tensor([2]))
    assert torch.allclose(model.logits(batch["ids"], batch["lengths"])[1], alone[0], atol=1e-5)


def test_pretrained_vectors_from_a_glove_file(tmp_path, tiny_run):
    from nlpseq.nn import load_word_vectors
    from nlpseq.text import Vocab

    vocab = Vocab.load(tiny_run / "vocab.json")
    f = tmp_path / "vectors.txt"
    f.write_text("2 3\nfilm 0.5 -1.0 2.0\nnotaword 1 1 1\n")
    weights, found = load_word_vectors(f, vocab, 3)
    assert found == 1
    assert weights[vocab.stoi["film"]].tolist() == [0.5, -1.0, 2.0]
    f.write_text("film 0.5 -1.0\n")
    from nlpseq.errors import DataError

    with pytest.raises(DataError, match="vectors.txt:1: vector has 2 values"):
        load_word_vectors(f, vocab, 3)


@pytest.mark.parametrize("cell", ["elman", "jordan", "residual_lstm", "rhn", "sru", "qrnn"])
def test_every_cell_is_selectable_from_a_recipe(cell):
    recipe = load_recipe(TINY_RECIPE, [f"model.cell={cell}", "model.zoneout=0.1", "model.variational_dropout=0.2",
                                       "model.recurrent_dropout=0.1", "model.num_layers=2", "model.skip_connections=true"])
    torch.manual_seed(0)
    model = MODELS.get("rnn_classifier")(recipe.model, vocab_size=20, num_labels=5)
    out = model({"ids": torch.tensor([[5, 6, 7], [8, 9, 0]]), "lengths": torch.tensor([3, 2]),
                 "labels": torch.tensor([1, 3])})
    out["loss"].backward()
    assert torch.isfinite(out["loss"]) and model.embed.weight.grad[5:10].abs().sum() > 0


@pytest.fixture(scope="module")
def subword_run(tmp_path_factory):
    from ..conftest import TINY_FAST, train_once

    return train_once(tmp_path_factory, TINY_RECIPE, "subword", *TINY_FAST, "--set", "model.subword_buckets=2000",
                      "--set", "model.word_dropout=0.3")


def test_subword_vectors_read_unseen_words(subword_run, pipe):
    texts = ["the plot is brilliantly .", "the plot is awfully ."]  # neither adverb is in the training data
    plain = pipe(texts)
    assert plain[0]["scores"] == pytest.approx(plain[1]["scores"], abs=1e-6)  # both are just <unk>
    pos, neg = nlpseq.pipeline("sentiment", model=subword_run)(texts)
    assert pos["label"] in ("positive", "very positive") and neg["label"] in ("negative", "very negative")


def test_int8_sentiment_answers_as_fp32_does(tiny_run):
    texts = ["a very good film", "an awful , boring mess", "it is a film", "the best of the year"]
    fp32 = nlpseq.pipeline("sentiment", model=tiny_run)(texts)
    int8 = nlpseq.pipeline("sentiment", model=tiny_run, precision="int8")(texts)
    assert [a["label"] for a in fp32] == [b["label"] for b in int8]
    assert all(abs(a["score"] - b["score"]) < 0.05 for a, b in zip(fp32, int8))
