import json

import pytest
import torch

import nlpseq
from nlpseq.decode import beam_search, greedy_search
from nlpseq.decode.shortlist import LexicalTable, coverage
from nlpseq.errors import RunDirError

from ..conftest import run_cli


def test_ibm1_learns_which_target_piece_each_source_piece_translates_into():
    g = torch.Generator().manual_seed(0)
    pairs = []
    for _ in range(400):  # source piece 10 + i is always translated as 20 + i, among random other pieces
        words = torch.randint(0, 6, (4,), generator=g).tolist()
        noise = torch.randint(30, 40, (2,), generator=g).tolist()
        pairs.append(([10 + w for w in words], [20 + w for w in words] + noise))
    table = LexicalTable.train(pairs, src_size=20, tgt_size=40)
    assert [int(table.table[10 + i, 0]) for i in range(6)] == [20 + i for i in range(6)]
    assert bool((table.table[:10] == -1).all())  # pieces never seen predict nothing
    short = table.shortlist(torch.tensor([[10, 11], [12, 0]]), per_source=1, frequent=3)
    assert short[:4].tolist() == [0, 1, 2, 3]  # the special symbols first, at their own ids
    assert {20, 21, 22} <= set(short.tolist()) and short.tolist() == sorted(set(short.tolist()))
    assert set(table.frequent[:3].tolist()) <= set(short.tolist())
    assert coverage(table, pairs[:50], per_source=1, frequent=0) > 0.6  # the noise pieces are not covered
    with pytest.raises(ValueError, match="between 1 and"):
        table.shortlist(torch.tensor([10]), per_source=0, frequent=3)


def _outputs(hyps: list) -> list:
    """Tokens and scores of greedy's hypotheses or of beam search's n-best lists."""
    return [[(h.tokens, round(h.score, 4)) for h in (x if isinstance(x, list) else [x])] for x in hyps]


def test_a_shortlist_of_the_whole_vocabulary_decodes_exactly_as_without_one(mt_run):
    task, model = nlpseq.load_run(mt_run)
    data = task.read_eval(None)
    batch = task.collate([task.src_sp.vocab().encode(task.src_sp.tokenize(s)) for s in data.sources[:12]])
    everything = torch.arange(len(task.tgt_sp.vocab()))
    for search in (greedy_search, beam_search):
        plain = search(model, batch["src"], batch["src_len"], task.decode_cfg)
        listed = search(model, batch["src"], batch["src_len"], task.decode_cfg, vocab=everything)
        assert _outputs(listed) == _outputs(plain)
    small = torch.tensor([0, 1, 2, 3, 10, 11, 12])  # the searches choose among the listed pieces only
    for hyp in greedy_search(model, batch["src"], batch["src_len"], task.decode_cfg, vocab=small):
        assert set(hyp.tokens) <= {10, 11, 12}
    with pytest.raises(ValueError, match="special symbols"):
        greedy_search(model, batch["src"], batch["src_len"], task.decode_cfg, vocab=torch.tensor([0, 1, 5]))


def test_shortlist_from_the_command_line_the_pipeline_and_a_kept_table(mt_run, tmp_path):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(mt_run, run)
    fp32 = json.loads(run_cli("evaluate", str(run), "--json").stdout)
    res = run_cli("evaluate", str(run), "--json", "--shortlist", "20", "--precision", "int8")
    assert res.returncode == 0, res.stderr
    listed = json.loads(res.stdout)
    assert abs(listed["bleu"] - fp32["bleu"]) < 3.0, (listed, fp32)
    assert (run / "shortlist.safetensors").exists()  # learnt on first use and kept in the run directory
    pipe = nlpseq.pipeline("translation", model=run)
    assert pipe(["Ein Hund rennt."], shortlist=20)[0]["translation"] == pipe(["Ein Hund rennt."])[0]["translation"]
    res = run_cli("translate", str(run), "--shortlist", "101", "Ein Hund rennt.")
    assert res.returncode == 2 and "from 0 to 100" in res.stderr
    (run / "shortlist.safetensors").write_bytes(b"\x00" * 40)  # a damaged table: one line, naming the file
    res = run_cli("translate", str(run), "--shortlist", "20", "Ein Hund rennt.")
    assert res.returncode != 0 and "shortlist.safetensors" in res.stderr and "Traceback" not in res.stderr


def test_a_table_for_other_vocabularies_is_refused(tmp_path):
    LexicalTable(torch.zeros(5, 3, dtype=torch.long), torch.arange(7)).save(tmp_path / "t.safetensors")
    with pytest.raises(RunDirError, match="other vocabularies"):
        LexicalTable.load(tmp_path / "t.safetensors", src_size=5, tgt_size=6)


@pytest.mark.parametrize("beam", [1, 4])
def test_every_piece_a_translation_outputs_is_in_its_sentences_shortlist(mt_run, monkeypatch, beam):
    import nlpseq.tasks.translation as translation

    task, model = nlpseq.load_run(mt_run)
    task.decode_cfg.shortlist_frequent = 0  # only the source pieces' own candidates: a shortlist small enough to bind
    seen = []
    for name in ("greedy_search", "beam_search"):
        search = getattr(translation, name)

        def spy(*args, _search=search, vocab=None, **kwargs):
            hyps = _search(*args, vocab=vocab, **kwargs)
            seen.append((vocab, hyps))
            return hyps

        monkeypatch.setattr(translation, name, spy)
    sources = task.read_eval(None).sources[:12]
    for s in sources:  # one sentence per call: its batch's shortlist is its own
        task.translate(model, [s], beam=beam, shortlist=3)
    assert len(seen) == len(sources)
    src_vocab = task.src_sp.vocab()
    for s, (vocab, hyps) in zip(sources, seen):
        assert vocab is not None, "the shortlist never reached the search"
        table = task.lexical_table()
        expected = table.shortlist(torch.tensor([src_vocab.encode(task.src_sp.tokenize(s))]), 3, 0)
        assert set(vocab.tolist()) == set(expected.tolist())
        assert len(vocab) < len(task.tgt_sp.vocab()) // 2  # a real restriction, not the whole vocabulary
        for hyp in (h for hs in hyps for h in (hs if isinstance(hs, list) else [hs])):
            assert set(hyp.tokens) <= set(vocab.tolist())
