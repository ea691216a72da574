"""``nlpseq compare``: configurations x seeds, resumable, with a report, a JSON summary and a plot."""

import json

import pytest

from nlpseq.experiments.table import rows, stage_rows

from .conftest import ROOT, run_cli

RECIPE = ROOT / "recipes" / "trees" / "tiny_rntn.yaml"
FAST = ["--set", "train.epochs=1", "--set", "train.tensorboard=false", "--set", "train.progress=false"]


def test_compare_trains_every_configuration_and_seed_and_reports_statistics(tmp_path):
    out = tmp_path / "cmp"
    args = ["compare", str(RECIPE), "--seeds", "1-2", "--sweep", "model.dropout=0,0.5", "--out", str(out),
            "--split-half", "--jobs", "2", *FAST]
    res = run_cli(*args, timeout=600)
    assert res.returncode == 0, res.stderr
    for config in ("model.dropout=0", "model.dropout=0.5"):
        for seed in (1, 2):
            run = out / config / f"seed_{seed}"
            recipe = (run / "recipe.yaml").read_text()
            assert f"seed: {seed}" in recipe and "dev.txt@A" in recipe  # selection saw half A only
    summary = json.loads((out / "compare.json").read_text())["data"]
    half_b, half_a = list(summary)
    assert half_b.endswith("@B") and half_a.endswith("@A")
    first, second = summary[half_b]["configurations"]
    assert first["name"] == "model.dropout=0" and len(first["metrics"]["root_fine"]["values"]) == 2
    stats = second["metrics"]["root_fine"]
    assert "vs_first" not in first["metrics"]["root_fine"] and 0 < stats["vs_first"]["p"] <= 1
    assert stats["ci_low"] <= stats["mean"] <= stats["ci_high"]
    assert summary[half_b]["items"] + summary[half_a]["items"] == 100  # the sample's dev set, split in two
    assert (out / "compare.png").stat().st_size > 1000 and "## root_fine" in (out / "report.md").read_text()
    assert "| model.dropout=0.5 | 2 |" in res.stdout
    assert "p (seeds)" in res.stdout and "p (items, seeds fixed)" in res.stdout
    assert "half A chose the weights" in res.stdout  # marked above half A's tables
    assert "2 seeds per configuration" in res.stdout and "warning" not in res.stdout  # warnings go to stderr
    assert "half A chose the weights" in res.stderr
    runs = summary[half_b]["configurations"][0]["training"]
    assert [r["seed"] for r in runs] == [1, 2] and all(r["steps"] > 0 and r["stopped_by"] == "epochs" for r in runs)
    report = (out / "report.md").read_text()
    assert "## Runs" in report and "## Selection effect" in report
    effect = summary[half_b]["selection_effect"]["model.dropout=0"]["root_fine"]
    assert len(effect["values"]) == 2  # (A_selected - A_last) - (B_selected - B_last), per seed
    assert len(list((out / "model.dropout=0" / "seed_1").glob("items_*_last.npz"))) == 2  # both halves
    progress = [ln for ln in res.stderr.splitlines() if ln.startswith("[")]
    assert len(progress) == 4 and all("@B: " in ln and "@A: " in ln for ln in progress)  # a line per run
    table = rows(out / "compare.json")  # the README's rows
    assert len(table) == 2 and "seeds 1-2: phrase_fine **" in table[0] and "[on A: " in table[0]
    stage = stage_rows(out / "compare.json")  # a study stage's table: ranked on half A, reported on B
    first_metric = summary[half_b]["metrics"][0]
    assert stage[0].startswith(f"| configuration | keys | {first_metric} on ") and "@A (ranks)" in stage[0]
    ranked = [float(row.split(" | ")[2]) for row in stage[2:]]
    means_a = sorted((c["metrics"][first_metric]["mean"] for c in summary[half_a]["configurations"]), reverse=True)
    assert len(stage) == 4 and ranked == pytest.approx(means_a, abs=0.006) and "`model.dropout=0.5`" in "".join(stage)
    # A second call finds every run scored and trains nothing again.
    mtime = (out / "model.dropout=0" / "seed_1" / "model.safetensors").stat().st_mtime_ns
    again = run_cli(*args, timeout=600)
    assert again.returncode == 0, again.stderr
    assert (out / "model.dropout=0" / "seed_1" / "model.safetensors").stat().st_mtime_ns == mtime
    assert json.loads((out / "compare.json").read_text())["data"] == summary


def test_compare_refuses_bad_values_before_training(tmp_path):
    bad = run_cli("compare", str(RECIPE), "--sweep", "model.name=warp", "--out", str(tmp_path / "bad"))
    assert bad.returncode == 2 and "warp" in bad.stderr and "Traceback" not in bad.stderr
    assert not (tmp_path / "bad").exists()
    seeds = run_cli("compare", str(RECIPE), "--seeds", "5-1", "--out", str(tmp_path / "bad"))
    assert seeds.returncode == 2 and "backwards" in seeds.stderr


def test_named_configurations_set_their_keys_and_keep_their_names(tmp_path):
    from nlpseq.experiments import load_configurations, plan_configurations
    from nlpseq.recipe import load_recipe

    path = tmp_path / "stage.yaml"
    path.write_text("configurations:\n  recipe: {}\n"
                    "  wsd: {train.schedule: budget_wsd, train.lr: 0.003, train.ema: null, model.dropout: 0.2}\n")
    named = load_configurations(path)
    assert [c.name for c in named] == ["recipe", "wsd"] and named[0].overrides == ()
    recipe = load_recipe(RECIPE, list(named[1].overrides))
    assert (recipe.train.schedule, recipe.train.lr, recipe.train.ema, recipe.model.dropout) == \
        ("budget_wsd", 0.003, None, 0.2)
    swept = plan_configurations(["model.dropout=0,0.5"], named)
    assert [c.name for c in swept] == ["recipe,model.dropout=0", "recipe,model.dropout=0.5",
                                       "wsd,model.dropout=0", "wsd,model.dropout=0.5"]
    assert load_recipe(RECIPE, list(swept[2].overrides)).model.dropout == 0  # the sweep comes after the name's keys
    assert swept[3].folder == "wsd,model.dropout=0.5"


@pytest.mark.parametrize("text, says", [("configurations: [a, b]\n", "expected a 'configurations:' mapping"),
                                        ("configurations:\n  a b: {}\n", "'a b' is not a plain word"),
                                        ("configurations:\n  a: [train.lr]\n", "'a' must map recipe keys"),
                                        ("configurations: {a: {train.lr: [}\n", "not valid YAML")])
def test_a_bad_configurations_file_is_refused_in_one_line(tmp_path, text, says):
    path = tmp_path / "stage.yaml"
    path.write_text(text)
    res = run_cli("compare", str(RECIPE), "--configs", str(path), "--out", str(tmp_path / "x"))
    assert res.returncode == 2 and says in res.stderr and "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and not (tmp_path / "x").exists()


def test_split_half_needs_a_dev_file(tmp_path):
    res = run_cli("compare", str(ROOT / "recipes" / "sentiment" / "polarity_cells.yaml"), "--split-half",
                  "--out", str(tmp_path / "x"))
    assert res.returncode == 2 and "no dev file to halve" in res.stderr and "Traceback" not in res.stderr


def test_selection_effect_by_hand():
    import numpy as np

    from nlpseq.experiments import Configuration, selection_effect
    from nlpseq.experiments.runner import RunResult
    from nlpseq.metrics.resampling import ItemStats

    def acc(right: int) -> dict:
        return {"accuracy": ItemStats.ratio(np.r_[np.ones(right), np.zeros(100 - right)], np.ones(100))}

    config = Configuration(("model.dropout=0",))
    # Seed 1: choosing on A gained 10 points there (80 vs 70 for the last weights) and 2 on B (72 vs 70).
    held_out = [RunResult(config, 1, None, {}, acc(72), last_items=acc(70)),
                RunResult(config, 2, None, {}, acc(60), last_items=acc(61))]
    chosen_on = [RunResult(config, 1, None, {}, acc(80), last_items=acc(70)),
                 RunResult(config, 2, None, {}, acc(66), last_items=acc(66))]
    effect = selection_effect(held_out, chosen_on)["model.dropout=0"]["accuracy"]
    assert effect["values"] == pytest.approx([8.0, 1.0]) and effect["mean"] == pytest.approx(4.5)
    assert selection_effect(held_out, [RunResult(config, 1, None, {}, acc(80))] * 2) == {}  # no last scores
