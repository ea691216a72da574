import json

import pytest
import torch

import nlpseq
from nlpseq.decode import DecodeConfig, beam_search, greedy_search
from nlpseq.errors import RunDirError
from nlpseq.recipe import load_recipe
from nlpseq.registry import MODELS

from ..conftest import ROOT, run_cli

RECIPE = ROOT / "recipes" / "translation" / "tiny_de_en.yaml"


def small_model(**overrides):
    recipe = load_recipe(RECIPE, [f"model.{k}={v}" for k, v in overrides.items()])
    torch.manual_seed(0)
    return MODELS.get("lstm_seq2seq")(recipe.model, 30, 40).eval()


def test_translates_the_sample_and_scores_with_sacrebleu(mt_run):
    res = run_cli("evaluate", str(mt_run), "--json", "--beam", "5")
    metrics = json.loads(res.stdout)
    assert {"bleu", "chrf", "signature", "sentences_per_s"} <= metrics.keys()
    assert metrics["signature"].startswith("nrefs:1|case:mixed|eff:no|tok:13a")
    assert metrics["bleu"] > 60, metrics


def test_src_ref_files_work_like_a_corpus_split(mt_run, tmp_path):
    import gzip

    src = ROOT / "data" / "parallel-sample" / "val.de.gz"
    ref = ROOT / "data" / "parallel-sample" / "val.en.gz"
    plain_src, plain_ref = tmp_path / "test.de", tmp_path / "test.en"
    plain_src.write_bytes(gzip.decompress(src.read_bytes()))
    plain_ref.write_bytes(gzip.decompress(ref.read_bytes()))
    by_split = json.loads(run_cli("evaluate", str(mt_run), "--json", "--beam", "1").stdout)
    by_path = json.loads(run_cli("evaluate", str(mt_run), "--json", "--beam", "1", "--src", str(plain_src),
                                 "--ref", str(plain_ref)).stdout)
    assert by_path["bleu"] == pytest.approx(by_split["bleu"])


def test_pipeline_and_cli(mt_run):
    out = nlpseq.pipeline("translation", model=mt_run)(["Ein Hund rennt.", ""])
    assert out[0]["translation"] == "A dog runs." and isinstance(out[0]["score"], float)
    assert out[1] == {"translation": "", "score": 0.0}  # an empty line gives an empty translation
    res = run_cli("translate", str(mt_run), stdin="Ein Hund rennt.\n\nEine Katze schläft.\n")
    assert res.returncode == 0, res.stderr
    assert res.stdout.split("\n")[:3] == ["A dog runs.", "", "A cat sleeps."]
    res = run_cli("translate", str(mt_run), "--n-best", "3", "--beam", "4", "Ein Hund rennt.")
    nbest = json.loads(res.stdout)["n_best"]
    assert len(nbest) == 3 and nbest[0]["score"] >= nbest[1]["score"] >= nbest[2]["score"]


def test_decode_options_on_the_command_line(mt_run, tiny_run):
    plain = json.loads(run_cli("translate", str(mt_run), "--n-best", "2", "--beam", "4", "Ein Hund rennt.").stdout)
    res = run_cli("translate", str(mt_run), "--n-best", "2", "--beam", "4", "--beta", "5", "Ein Hund rennt.")
    covered = json.loads(res.stdout)
    # A coverage penalty only lowers scores: by 5 x log of the attention each source piece falls short by.
    assert max(h["score"] for h in covered["n_best"]) < max(h["score"] for h in plain["n_best"])
    res = run_cli("evaluate", str(tiny_run), "--beta", "0.3")
    assert res.returncode != 0 and res.stderr.strip().splitlines()[-1].endswith("only translators take it")
    res = run_cli("translate", str(mt_run), "--alpha=-1", "Ein Hund rennt.")
    assert res.returncode != 0 and "--alpha: expected a number >= 0" in res.stderr
    res = run_cli("translate", str(mt_run), "--patience", "0.5", "Ein Hund rennt.")
    assert res.returncode != 0 and "--patience: expected a number >= 1" in res.stderr
    res = run_cli("translate", str(mt_run), "--patience", "2", "--beam", "4", "Ein Hund rennt.")
    assert res.returncode == 0 and res.stdout.strip()


def test_mbr_outputs_the_ending_that_agrees_most_with_the_others(mt_run):
    from nlpseq.api import load_run
    from nlpseq.decode import mbr_rank

    task, model = load_run(mt_run)
    cfg = task.decode_cfg
    cfg.patience, cfg.mbr_temperature = 2.0, 0.5
    sources = ["Ein Hund rennt.", "Zwei Männer spielen Fußball im Park.", ""]
    chosen = task.translate(model, sources, beam=4, n_best=4)
    assert chosen[2] == [{"translation": "", "score": 0.0}]
    # The choice is mbr_rank over every ending of the search (8 with patience 2), not only the 4 best.
    vs, vt = task.src_sp.vocab(), task.tgt_sp.vocab()
    for source, mbr in zip(sources[:2], chosen):
        batch = task.collate([vs.encode(task.src_sp.tokenize(source))])
        hyps = beam_search(model, batch["src"], batch["src_len"], cfg.model_copy(update={"beam": 4, "patience": 2.0}),
                           n_best=8)[0]
        texts = [task.tgt_sp.detokenize(vt.decode(h.tokens)) for h in hyps]
        ranked = mbr_rank(texts, [h.score for h in hyps], 0.5)
        assert [a["translation"] for a in mbr] == [texts[i] for i, _ in ranked[:4]]
        assert [a["expected_chrf"] for a in mbr] == pytest.approx([e for _, e in ranked[:4]])
        assert [a["score"] for a in mbr] == pytest.approx([hyps[i].score for i, _ in ranked[:4]])
    res = run_cli("translate", str(mt_run), "--mbr", "0.5", "--n-best", "2", "--beam", "4", "Ein Hund rennt.")
    assert res.returncode == 0 and "expected_chrf" in json.loads(res.stdout)["n_best"][0]
    res = run_cli("translate", str(mt_run), "--mbr", "0", "--n-best", "2", "--beam", "4", "Ein Hund rennt.")
    assert res.returncode == 0 and "expected_chrf" not in json.loads(res.stdout)["n_best"][0]
    res = run_cli("translate", str(mt_run), "--mbr=-1", "Ein Hund rennt.")
    assert res.returncode != 0 and "--mbr: expected a number >= 0" in res.stderr


def test_attention_plot(mt_run, tmp_path):
    png = tmp_path / "att.png"
    res = run_cli("translate", str(mt_run), "--plot-attention", str(png), "Ein Hund rennt.")
    assert res.returncode == 0, res.stderr
    assert png.read_bytes().startswith(b"\x89PNG")


def test_overlong_source_is_truncated_with_a_warning(mt_run, caplog):
    pipe = nlpseq.pipeline("translation", model=mt_run)
    pipe.task.recipe.data.max_src_len = 5
    with caplog.at_level("WARNING"):
        (ans,) = pipe("Ein kleiner Hund rennt im Park auf der Straße am Strand.")
    assert "truncated" in caplog.text and isinstance(ans["translation"], str)


def test_run_of_another_task_is_refused(tiny_run):
    with pytest.raises(RunDirError, match="not a 'translation' run"):
        nlpseq.pipeline("translation", model=tiny_run)


@pytest.mark.parametrize("attention", ["bahdanau", "general", "dot"])
@pytest.mark.parametrize("feeding", [True, False])
def test_beam_output_does_not_depend_on_the_batch(attention, feeding):
    model = small_model(attention=attention, input_feeding=feeding, hidden_size=32, embedding_dim=16)
    torch.manual_seed(1)
    lengths = torch.tensor([7, 3, 5, 1, 6])
    src = torch.randint(4, 30, (5, 7)) * (torch.arange(7) < lengths[:, None])
    together = beam_search(model, src, lengths, DecodeConfig(beam=4, max_len_b=6), n_best=2)
    for i in range(5):
        alone = beam_search(model, src[i : i + 1, : lengths[i]], lengths[i : i + 1],
                            DecodeConfig(beam=4, max_len_b=6), n_best=2)
        assert [h.tokens for h in alone[0]] == [h.tokens for h in together[i]]
        assert [h.score for h in alone[0]] == pytest.approx([h.score for h in together[i]], abs=1e-4)
    # Greedy too, attention rows included: finished sentences leave the batch without disturbing the rest.
    together = greedy_search(model, src, lengths, DecodeConfig(max_len_b=6), keep_attention=True)
    for i in range(5):
        (alone,) = greedy_search(model, src[i : i + 1, : lengths[i]], lengths[i : i + 1],
                                 DecodeConfig(max_len_b=6), keep_attention=True)
        assert alone.tokens == together[i].tokens and alone.score == pytest.approx(together[i].score, abs=1e-4)
        assert torch.allclose(torch.tensor(alone.attention), torch.tensor(together[i].attention), atol=1e-5)
        assert len(alone.attention) == len(alone.tokens) + 1


def test_beam_of_one_is_greedy_and_beams_find_better_scores():
    model = small_model(hidden_size=32, embedding_dim=16)
    torch.manual_seed(2)
    lengths = torch.tensor([6, 4, 6])
    src = torch.randint(4, 30, (3, 6)) * (torch.arange(6) < lengths[:, None])
    greedy = greedy_search(model, src, lengths, DecodeConfig(max_len_b=8, alpha=0.0))
    one = beam_search(model, src, lengths, DecodeConfig(beam=1, max_len_b=8, alpha=0.0))
    five = beam_search(model, src, lengths, DecodeConfig(beam=5, max_len_b=8, alpha=0.0))
    for g, b1, b5 in zip(greedy, one, five):
        assert g.tokens == b1[0].tokens
        assert b1[0].score == pytest.approx(g.score, abs=1e-4)
        assert b5[0].score >= b1[0].score - 1e-5
        assert all(t not in (0, 1, 2) for t in b5[0].tokens)  # never pad, unk or bos


def test_coverage_penalty_reranks_ended_hypotheses_by_the_attention_they_received():
    model = small_model(hidden_size=32, embedding_dim=16)
    torch.manual_seed(3)
    lengths = torch.tensor([6, 3, 5])
    src = torch.randint(4, 30, (3, 6)) * (torch.arange(6) < lengths[:, None])
    plain = beam_search(model, src, lengths, DecodeConfig(beam=4, max_len_b=6), n_best=4, keep_attention=True)
    covered = beam_search(model, src, lengths,
                          DecodeConfig(beam=4, max_len_b=6, beta=0.7), n_best=4, keep_attention=True)
    for p, c in zip(plain, covered):
        # The same hypotheses end (the penalty does not steer the search), each rescored by its own
        # attention: beta * sum over source positions of log(min(attention received, 1)).
        by_tokens = {tuple(h.tokens): h for h in p}
        assert set(by_tokens) == {tuple(h.tokens) for h in c}
        for h in c:
            received = torch.tensor(h.attention).sum(0)
            expected = by_tokens[tuple(h.tokens)].score + 0.7 * float(received.clamp(max=1.0).log().sum())
            assert h.score == pytest.approx(expected, abs=1e-4)
            assert h.score <= by_tokens[tuple(h.tokens)].score + 1e-6
        assert [h.score for h in c] == sorted((h.score for h in c), reverse=True)
    # Batched or alone, the penalty gives the same output: padding positions add nothing.
    for i in range(3):
        alone = beam_search(model, src[i : i + 1, : lengths[i]], lengths[i : i + 1],
                            DecodeConfig(beam=4, max_len_b=6, beta=0.7), n_best=4)
        assert [h.tokens for h in alone[0]] == [h.tokens for h in covered[i]]
        assert [h.score for h in alone[0]] == pytest.approx([h.score for h in covered[i]], abs=1e-4)


def test_patience_waits_for_more_endings_without_widening_the_beam():
    model = small_model(hidden_size=32, embedding_dim=16)
    torch.manual_seed(4)
    lengths = torch.tensor([6, 3, 5, 7])
    src = torch.randint(4, 30, (4, 7)) * (torch.arange(7) < lengths[:, None])
    base = beam_search(model, src, lengths, DecodeConfig(beam=3, max_len_b=8, alpha=4.0), n_best=3)
    patient = beam_search(model, src, lengths, DecodeConfig(beam=3, max_len_b=8, alpha=4.0, patience=2.0), n_best=6)
    for b, p in zip(base, patient):
        # The first three endings are the same ones; the search then goes on until six have ended.
        assert {tuple(h.tokens) for h in b} <= {tuple(h.tokens) for h in p}
        assert len(p) == 6 and p[0].score >= b[0].score - 1e-6
    # An untrained model ends at once; a strong length penalty ranks the later, longer endings first.
    assert all(p[0].score > b[0].score + 0.1 and len(p[0].tokens) > len(b[0].tokens) for b, p in zip(base, patient))
    for i in range(4):  # and still independent of the batch
        alone = beam_search(model, src[i : i + 1, : lengths[i]], lengths[i : i + 1],
                            DecodeConfig(beam=3, max_len_b=8, alpha=4.0, patience=2.0), n_best=6)
        assert [h.tokens for h in alone[0]] == [h.tokens for h in patient[i]]
    with pytest.raises(ValueError, match="patience"):
        beam_search(model, src, lengths, DecodeConfig(beam=3, patience=0.5))


def test_padding_is_ignored_by_the_loss():
    model = small_model(hidden_size=32, embedding_dim=16, dropout=0.0, embedding_dropout=0.0)
    first = {"src": torch.tensor([[5, 6, 7]]), "src_len": torch.tensor([3]),
             "tgt_in": torch.tensor([[2, 5, 6]]), "tgt_out": torch.tensor([[5, 6, 3]])}
    second = {"src": torch.tensor([[8, 9]]), "src_len": torch.tensor([2]),
              "tgt_in": torch.tensor([[2, 7]]), "tgt_out": torch.tensor([[7, 3]])}
    both = {"src": torch.tensor([[5, 6, 7], [8, 9, 0]]), "src_len": torch.tensor([3, 2]),
            "tgt_in": torch.tensor([[2, 5, 6], [2, 7, 0]]), "tgt_out": torch.tensor([[5, 6, 3], [7, 3, 0]])}
    with torch.no_grad():  # only the values are compared
        a, b, ab = model(first), model(second), model(both)
    assert ab["units"] == a["units"] + b["units"] == 5
    total = a["loss"] * a["units"] + b["loss"] * b["units"]
    assert float(ab["loss"] * ab["units"]) == pytest.approx(float(total), rel=1e-5)


@pytest.mark.parametrize("cell", ["elman", "jordan", "residual_lstm", "rhn", "sru"])
@pytest.mark.parametrize("feed", [True, False])
def test_every_stepwise_cell_serves_as_encoder_and_decoder(cell, feed):
    model = small_model(cell=cell, input_feeding=str(feed).lower(), decoder_layers=2)
    src, src_len = torch.randint(4, 30, (3, 7)), torch.tensor([7, 5, 2])
    tgt_in = torch.randint(4, 40, (3, 6))
    memory, state = model.encode(src, src_len)
    whole, _, _ = model.decode(tgt_in, memory, state)
    steps = []
    for t in range(tgt_in.size(1)):  # one token at a time, as beam search decodes
        att, _, state = model.decode(tgt_in[:, t : t + 1], memory, state)
        steps.append(att)
    assert torch.allclose(whole, torch.cat(steps, 1), atol=1e-5)
    with torch.no_grad():
        hyps = beam_search(model, src, src_len, DecodeConfig(beam=3, max_len_a=1.0, max_len_b=4))
    assert len(hyps) == 3


@pytest.mark.parametrize("cell", ["lstm", "gru", "residual_lstm"])
@pytest.mark.parametrize("feed", [True, False])
def test_zoneout_and_dropouts_reach_the_translators_decoder(cell, feed):
    src, src_len = torch.randint(4, 30, (3, 7)), torch.tensor([7, 5, 2])
    tgt_in = torch.randint(4, 40, (3, 6))
    # zoneout 1: every unit keeps its previous state at every training step, so the decoder state never
    # leaves the one the bridge computed from the encoder.
    model = small_model(cell=cell, input_feeding=str(feed).lower(), decoder_layers=2, zoneout=1.0, dropout=0.0).train()
    memory, start = model.encode(src, src_len)
    _, _, (layers, _) = model.decode(tgt_in, memory, start)
    assert all(torch.equal(a, b) for s, s0 in zip(layers, start[0]) for a, b in zip(s, s0))
    plain = small_model(cell=cell, input_feeding=str(feed).lower(), decoder_layers=2, dropout=0.0).train()
    memory, start = plain.encode(src, src_len)
    _, _, (layers, _) = plain.decode(tgt_in, memory, start)
    assert not any(torch.equal(a, b) for s, s0 in zip(layers, start[0]) for a, b in zip(s, s0))  # without, it moves
    noisy = small_model(cell=cell, input_feeding=str(feed).lower(), variational_dropout=0.5, recurrent_dropout=0.5,
                        dropout=0.0, embedding_dropout=0.0).train()
    batch = {"src": src, "src_len": src_len, "tgt_in": tgt_in, "tgt_out": torch.randint(4, 40, (3, 6))}
    assert noisy(batch)["loss"].item() != noisy(batch)["loss"].item()  # fresh masks per batch
    noisy.eval()
    assert noisy(batch)["loss"].item() == noisy(batch)["loss"].item()
    with torch.no_grad():
        assert len(beam_search(noisy, src, src_len, DecodeConfig(beam=3, max_len_a=1.0, max_len_b=4))) == 3


def test_a_convolutional_cell_is_refused_by_the_decoder_with_a_reason():
    from nlpseq.errors import RecipeError

    with pytest.raises(RecipeError, match="qrnn"):
        small_model(cell="qrnn")


def test_word_dropout_replaces_source_and_decoder_input_pieces_in_training_only():
    model = small_model(word_dropout=1.0, dropout=0.0, embedding_dropout=0.0)
    tgt_in, tgt_out = torch.tensor([[2, 7, 8]]), torch.tensor([[7, 8, 3]])
    batches = [{"src": torch.tensor([[s, s + 1, 3]]), "src_len": torch.tensor([3]), "tgt_in": tgt_in,
                "tgt_out": tgt_out} for s in (5, 11)]
    other_input = dict(batches[0], tgt_in=torch.tensor([[2, 9, 12]]))
    model.train()
    first, second, third = (model(b)["loss"].item() for b in (*batches, other_input))
    assert first == pytest.approx(second, abs=1e-6) == third  # every real piece on both sides became <unk>
    model.eval()
    first, second = (model(b)["loss"].item() for b in batches)
    assert first != pytest.approx(second, abs=1e-4)


def test_subword_sampling_draws_fresh_segmentations_the_same_way_every_run(tmp_path):
    from nlpseq.errors import RecipeError
    from nlpseq.registry import TASKS
    from nlpseq.run import RunDir

    tasks = {}

    def batches(name: str, *overrides: str) -> list[dict]:
        recipe = load_recipe(RECIPE, list(overrides))
        tasks[name] = TASKS.get("translation")(recipe, RunDir(tmp_path / name))
        train, _ = tasks[name].prepare()
        idx = list(range(12))
        return [train.make_batch(idx), train.make_batch(idx[::-1])]

    def texts(name: str, ids: torch.Tensor) -> list[str]:
        sp = tasks[name].src_sp
        return [sp.detokenize(sp.vocab().decode(row.tolist())) for row in ids]

    plain = batches("plain")
    sampled = batches("a", "text.sampling_alpha=0.1")
    again = batches("b", "text.sampling_alpha=0.1")
    for x, y in zip(sampled, again):  # a seeded run draws the same segmentations
        assert all(torch.equal(x[k], y[k]) for k in x)
    assert not torch.equal(plain[0]["src"], sampled[0]["src"])
    assert not torch.equal(plain[0]["tgt_out"], sampled[0]["tgt_out"])
    assert plain[0]["src"].shape[0] == sampled[0]["src"].shape[0] == 12
    # Another segmentation of the same sentences, read by row id from the cache.
    assert texts("a", sampled[0]["src"]) == texts("plain", plain[0]["src"])
    assert texts("a", sampled[1]["src"]) == texts("plain", plain[1]["src"])
    # The same sentences in another batch are drawn afresh.
    assert not torch.equal(sampled[0]["src"].flip(0), sampled[1]["src"])
    with pytest.raises(RecipeError, match="unigram"):
        batches("bpe", "text.sampling_alpha=0.1", "text.model_type=bpe")


def test_evaluate_without_beam_decodes_with_the_recipes_beam_and_training_evaluates_greedily(mt_run):
    from nlpseq.api import load_run

    res = run_cli("evaluate", str(mt_run), "--json")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["beam"] == 5  # decode.beam of tiny_de_en.yaml; dev_beam is 1
    task, model = load_run(mt_run)
    assert task.dev_evaluate(model, task.read_eval(None))["beam"] == 1


def test_evaluate_bootstrap_prints_an_interval_around_bleu_and_chrf(mt_run, tmp_path):
    import gzip

    from ..conftest import SAMPLES

    # The tiny model knows the sample's references by heart; every other reference is swapped with its
    # neighbour's, so the scores are neither 0 nor 100 and the items disagree.
    src = SAMPLES / "parallel-sample" / "val.de.gz"
    refs = gzip.open(SAMPLES / "parallel-sample" / "val.en.gz", "rt", encoding="utf-8").read().splitlines()
    for i in range(0, len(refs) - 1, 4):
        refs[i], refs[i + 1] = refs[i + 1], refs[i]
    (tmp_path / "ref.en").write_text("\n".join(refs) + "\n", encoding="utf-8")
    opts = ["--beam", "1", "--bootstrap", "200", "--src", str(src), "--ref", str(tmp_path / "ref.en")]
    res = run_cli("evaluate", str(mt_run), "--json", *opts)
    assert res.returncode == 0, res.stderr
    m = json.loads(res.stdout)
    for name in ("bleu", "chrf"):
        lo, hi = m[f"{name}_ci95"]
        assert lo <= m[name] <= hi and hi > lo
    text = run_cli("evaluate", str(mt_run), *opts).stdout
    assert "95% bootstrap interval (200 resamples)" in text


def test_greedy_scores_use_the_recipes_length_penalty(mt_run):
    from nlpseq.api import load_run
    from nlpseq.decode.search import length_penalty

    task, model = load_run(mt_run)
    task.decode_cfg.alpha = 0.0
    raw = task.translate(model, ["Ein Hund rennt."], beam=1)[0][0]
    task.decode_cfg.alpha = 1.0
    scaled = task.translate(model, ["Ein Hund rennt."], beam=1)[0][0]
    assert raw["translation"] == scaled["translation"]
    pieces = len(task.tgt_sp.vocab().encode(task.tgt_sp.tokenize(raw["translation"])))
    assert scaled["score"] == pytest.approx(raw["score"] / length_penalty(pieces + 1, 1.0), rel=1e-5)


def test_int8_decoding_agrees_with_fp32_on_the_sample(mt_run):
    task, fp32 = nlpseq.load_run(mt_run)
    _, int8 = nlpseq.load_run(mt_run, precision="int8")
    quantized = {type(m).__module__ for m in int8.modules()}
    assert "torch.ao.nn.quantized.dynamic.modules.linear" in quantized  # the output layer too (untied)
    assert "torch.ao.nn.quantized.dynamic.modules.rnn" in quantized  # encoder LSTM and decoder cell
    data = task.read_eval(None)
    sources = data.sources[:40]
    a = [r[0]["translation"] for r in task.translate(fp32, sources, beam=5)]
    b = [r[0]["translation"] for r in task.translate(int8, sources, beam=5)]
    assert sum(x == y for x, y in zip(a, b)) >= 0.9 * len(a)  # the same output on nearly every sentence
    fp32_m = json.loads(run_cli("evaluate", str(mt_run), "--json").stdout)
    int8_m = json.loads(run_cli("evaluate", str(mt_run), "--json", "--precision", "int8").stdout)
    # 60 held-out sentences of about 6 words: one word changed moves BLEU by about 1.5 points
    assert abs(int8_m["bleu"] - fp32_m["bleu"]) < 4.0 and abs(int8_m["chrf"] - fp32_m["chrf"]) < 2.0
    assert run_cli("translate", str(mt_run), "--precision", "int8", "Ein Hund rennt.").stdout.strip()


def test_bf16_decodes_like_fp32_where_the_cpu_computes_in_it(mt_run):
    if not torch.ops.mkldnn._is_mkldnn_bf16_supported():
        pytest.skip("this CPU has no bf16 arithmetic (AVX512-BF16 or AMX): bf16 decoding is not checked here")
    task, fp32 = nlpseq.load_run(mt_run)
    _, bf16 = nlpseq.load_run(mt_run, precision="bf16")
    assert next(bf16.parameters()).dtype == torch.bfloat16 and next(fp32.parameters()).dtype == torch.float32
    sources = task.read_eval(None).sources[:40]
    a = [r[0]["translation"] for r in task.translate(fp32, sources, beam=5)]
    b = [r[0]["translation"] for r in task.translate(bf16, sources, beam=5)]
    assert sum(x == y for x, y in zip(a, b)) >= 0.8 * len(a)


def test_bf16_is_refused_in_one_line_where_the_cpu_lacks_it(mt_run, monkeypatch):
    from nlpseq.errors import RecipeError
    from nlpseq.nn.quantize import with_precision

    task, fp32 = nlpseq.load_run(mt_run)
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: False)
    with pytest.raises(RecipeError, match="no bf16 arithmetic"):
        with_precision(fp32, "bf16")
