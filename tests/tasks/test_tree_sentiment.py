import json

import pytest
import torch
from nltk import Tree

import nlpseq
from nlpseq.errors import InputError

from ..conftest import ROOT, run_cli

RECIPE = ROOT / "recipes" / "trees" / "tiny_rntn.yaml"
TREE = "(3 (2 (2 the) (2 film)) (3 (2 is) (3 (2 very) (3 good))))"


def test_rntn_learns_phrase_labels_on_the_toy_treebank(rntn_run):
    metrics = json.loads(run_cli("evaluate", str(rntn_run), "--json").stdout)
    assert set(metrics) >= {"phrase_fine", "root_fine", "phrase_binary", "root_binary"}
    assert metrics["phrase_fine"] > 85 and metrics["root_fine"] > 60, metrics


def test_pipeline_labels_every_phrase(rntn_run):
    pipe = nlpseq.pipeline("sentiment", model=rntn_run)
    (ans,) = pipe(TREE)
    assert ans["label"] in ("positive", "very positive")
    assert len(ans["phrases"]) == 9  # 5 words + 4 phrases
    assert ans["phrases"][-1]["text"] == "the film is very good"
    assert ans["tree"].startswith("(") and ans["tree"].count("(") == 9
    for p in ans["phrases"]:
        assert sum(p["scores"].values()) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("bad, message", [
    ("the film is good", "parser model"),
    ("(3 (2 the) (2 film)", "unbalanced"),
    ("(S () ())", "no words"),
    ("", "empty"),
])
def test_bad_trees_are_input_errors(rntn_run, bad, message):
    pipe = nlpseq.pipeline("sentiment", model=rntn_run)
    with pytest.raises(InputError, match=message):
        pipe(bad)


def test_a_parsers_tree_or_an_unlabelled_one_is_read_for_its_bracketing(rntn_run):
    pipe = nlpseq.pipeline("sentiment", model=rntn_run)
    sst = pipe("(3 (2 (2 the) (2 film)) (3 (2 is) (3 (2 very) (3 good))))")[0]
    for text in ["(S (NP the film) (VP is (ADJP very good)))", "((the film) (is (very good)))",
                 "(9 (NP (DT the) (NN film)) (VP is (ADJP (RB very) (JJ good))))"]:
        ans = pipe(text)[0]
        assert ans["tree"] == sst["tree"], text  # the same bracketing: the same labels on every phrase
        assert ans["scores"] == pytest.approx(sst["scores"])


def test_cli_refuses_an_empty_tree_instead_of_reading_stdin(rntn_run):
    res = run_cli("sentiment", str(rntn_run), "--tree", "", stdin=TREE + "\n")
    assert res.returncode == 2 and res.stdout == "", res.stdout
    assert res.stderr.strip() == "nlpseq: error: input 0 is empty or only whitespace"


@pytest.mark.parametrize("suffix", [".svg", ".png"])
def test_cli_renders_the_labelled_tree(rntn_run, tmp_path, suffix):
    out = tmp_path / f"tree{suffix}"
    res = run_cli("sentiment", str(rntn_run), "--tree", TREE, "--render", str(out))
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["phrases"]
    data = out.read_bytes()
    if suffix == ".svg":
        text = data.decode()
        assert text.count("<circle") == 9 and ">good</text>" in text
    else:
        assert data.startswith(b"\x89PNG")


def test_subword_rntn_reads_unseen_leaves_and_stays_batch_independent(tmp_path_factory):
    from ..conftest import train_once

    run = train_once(tmp_path_factory, RECIPE, "rntn_subword", "--set", "model.subword_buckets=2000",
                     "--set", "train.epochs=1")
    pipe = nlpseq.pipeline("sentiment", model=run)
    trees = ["(3 (2 (2 the) (2 film)) (3 (2 is) (3 (2 very) (3 good))))",
             "(2 (2 the) (2 brilliantly))", "(2 (2 the) (2 awfully))"]  # neither adverb is in the training trees
    together = pipe(trees)
    for tree, ans in zip(trees, together):
        alone = pipe(tree)[0]["phrases"]
        assert [list(p["scores"].values()) for p in alone] == [
            pytest.approx(list(p["scores"].values()), abs=1e-5) for p in ans["phrases"]]
    assert together[1]["phrases"][1]["scores"] != pytest.approx(together[2]["phrases"][1]["scores"], abs=1e-3)


def _prepared(recipe_sets, tmp_path):
    from nlpseq.recipe import load_recipe
    from nlpseq.registry import TASKS
    from nlpseq.run import RunDir

    recipe = load_recipe(str(RECIPE), recipe_sets)
    run = RunDir.create(tmp_path / "student", recipe.dump())
    return TASKS.get("tree_sentiment")(recipe, run)


def test_teacher_soft_labels_line_up_with_each_batch_node(rntn_run, tmp_path):
    """Each node of a training batch carries the teacher's probabilities for that very node."""
    task = _prepared([f"data.teachers=[{rntn_run}]", "model.distill_weight=0.5"], tmp_path)
    train, _ = task.prepare()
    _, teacher = nlpseq.load_run(rntn_run)
    batch = train.make_batch([3, 0, 7, 1])
    with torch.no_grad():
        expected = torch.softmax(teacher({k: v for k, v in batch.items() if k != "soft_labels"})["logits"], -1)
    assert torch.allclose(batch["soft_labels"], expected, atol=1e-6)
    # Not a uniform or copied row: the teacher told the nodes apart.
    assert batch["soft_labels"].argmax(-1).unique().numel() > 1


def test_distilled_loss_mixes_gold_and_teacher_cross_entropy(rntn_run, tmp_path):
    task = _prepared([f"data.teachers=[{rntn_run}]", "model.distill_weight=0.25"], tmp_path)
    train, _ = task.prepare()
    model = task.build_model()
    batch = train.make_batch([0, 1, 2])
    out = model(batch)
    logp = torch.log_softmax(out["logits"], -1)
    gold = -logp.gather(1, batch["labels"][:, None]).sum()
    soft = -(batch["soft_labels"] * logp).sum()
    assert out["loss"].item() == pytest.approx(((0.75 * gold + 0.25 * soft) / 3).item(), rel=1e-5)
    model.cfg.distill_weight = 0.0
    assert model(batch)["loss"].item() == pytest.approx((gold / 3).item(), rel=1e-5)


BINARY = ["--set", "data.labels=binary", "--set", "train.metric=root_binary"]


@pytest.fixture(scope="module")
def binary_run(tmp_path_factory):
    from ..conftest import train_once

    return train_once(tmp_path_factory, RECIPE, "rntn_binary", *BINARY)


def test_binary_labels_drop_neutral_roots_and_leave_neutral_phrases_unlabelled(tmp_path):
    from nlpseq.data.trees import read_sentiment_trees

    task = _prepared(["data.labels=binary", "train.metric=root_binary"], tmp_path)
    train, _ = task.prepare()
    trees = read_sentiment_trees(ROOT / "data" / "sentiment-sample" / "train.txt")
    kept = [t for t in trees if t.label() != "2"]
    assert 0 < len(kept) < len(trees) and len(train.lengths) == len(kept)
    batch = train.make_batch(list(range(len(kept))))
    # Post-order node labels of the kept trees, mapped: 0-1 -> 0, 3-4 -> 1, 2 -> ignored.
    post = torch.tensor([lab for t in kept for lab in _postorder_labels(t)])
    assert (post == 2).any() and (post != 2).any()
    expected = torch.where(post == 2, -100, (post > 2).long())
    assert batch["labels"][batch["positions"]].tolist() == expected.tolist()


def _postorder_labels(tree):
    return [int(tree[p].label()) for p in tree.treepositions("postorder") if not isinstance(tree[p], str)]


def test_binary_model_reports_binary_metrics_and_answers_in_two_labels(binary_run, rntn_run):
    metrics = json.loads(run_cli("evaluate", str(binary_run), "--json").stdout)
    assert set(metrics) >= {"phrase_binary", "root_binary"} and "root_fine" not in metrics
    assert metrics["root_binary"] > 75, metrics
    pipe = nlpseq.pipeline("sentiment", model=binary_run)
    assert pipe.labels == ["negative", "positive"]
    (ans,) = pipe(TREE)
    assert ans["label"] == "positive" and set(ans["scores"]) == {"negative", "positive"}
    # Written with SST's own negative (1) and positive (3), so the tree reads and draws as SST.
    assert {p.label() for p in Tree.fromstring(ans["tree"]).subtrees()} <= {"1", "3"}
    # A five-class teacher cannot teach a binary student.
    res = run_cli("train", str(RECIPE), "--out", str(binary_run.parent / "student"), *BINARY, "--set",
                  f"data.teachers=[{rntn_run}]", "--set", "model.distill_weight=0.5")
    assert res.returncode != 0 and "data.labels must agree" in res.stderr and "Traceback" not in res.stderr


@pytest.mark.parametrize("sets, message", [
    (["data.labels=binary"], "set train.metric"),
    (["data.labels=binary", "train.metric=root_fine"], "set train.metric"),
    (["model.distill_weight=0.5"], "go together"),
    (["data.teachers=[RUN]"], "go together"),
    (["data.teachers=[NOWHERE]", "model.distill_weight=0.5"], "NOWHERE"),
])
def test_distillation_misconfigurations_are_one_line_errors(rntn_run, tmp_path, sets, message):
    sets = [s.replace("RUN", str(rntn_run)).replace("NOWHERE", str(tmp_path / "nowhere")) for s in sets]
    res = run_cli("train", str(RECIPE), "--out", str(tmp_path / "out"), *[a for s in sets for a in ("--set", s)])
    assert res.returncode != 0
    assert message.replace("NOWHERE", "nowhere") in res.stderr and "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert not (tmp_path / "out").exists()  # nothing left behind to refuse the corrected command


def test_evaluate_bootstrap_and_items_agree_with_the_metrics(rntn_run, tmp_path):
    from nlpseq.experiments.runner import load_items

    npz = tmp_path / "items.npz"
    res = run_cli("evaluate", str(rntn_run), "--json", "--bootstrap", "300", "--save-items", str(npz))
    assert res.returncode == 0, res.stderr
    m = json.loads(res.stdout)
    items = load_items(npz)
    assert set(items) == {"phrase_fine", "root_fine", "phrase_binary", "root_binary"}
    for name, item in items.items():
        assert item.value == pytest.approx(m[name])  # the items sum to the metric the task reports
        assert m[f"{name}_ci95"][0] <= m[name] <= m[f"{name}_ci95"][1]
    assert len(items["root_fine"].stats) == m["count"] and m["loss"] > 0
    bad = run_cli("evaluate", str(rntn_run), "--bootstrap", "0")
    assert bad.returncode == 2 and "expected a whole number from 1 to" in bad.stderr
