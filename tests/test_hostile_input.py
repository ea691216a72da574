"""Bad input as a hostile but realistic user gives it: damaged files, text that is not text, settings
that would be ignored or meaningless. Each gets one line naming what was wrong, and the work goes on
where it can (the other lines of a stream); nothing saved is lost."""

from __future__ import annotations

import gzip
import io
import json
import random
import shutil
import sys

import pytest

from nlpseq.cli import main

from .conftest import ROOT, SAMPLES, TINY_FAST, TINY_RECIPE

RNTN_RECIPE = ROOT / "recipes" / "trees" / "tiny_rntn.yaml"
MT_RECIPE = ROOT / "recipes" / "translation" / "tiny_de_en.yaml"


def cli(capsys, *argv: str, stdin: bytes | None = None, monkeypatch=None) -> tuple[int, str, str]:
    """``nlpseq ARGV`` in this process (no start-up cost); (status, stdout, stderr)."""
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8", errors="strict"))
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def one_line(status: int, err: str, *needles: str) -> str:
    assert status == 2, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


# -- text that is not text -----------------------------------------------------------------------
def test_translate_stdin_reports_a_non_utf8_line_by_number_and_translates_the_rest(mt_run, capsys, monkeypatch):
    status, out, err = cli(capsys, "translate", str(mt_run), monkeypatch=monkeypatch,
                           stdin="Ein Hund rennt.\n".encode() + b"Ein \xff Hund\n" + "Eine Katze schläft.\n".encode())
    assert status == 2 and out.split("\n")[:3] == ["A dog runs.", "", "A cat sleeps."]
    assert err.strip() == "nlpseq: error: line 2: not UTF-8 text (byte 5 is 0xff)"


def test_sentiment_stdin_goes_on_past_bad_and_overlong_lines_naming_each(tiny_run, capsys, monkeypatch):
    stdin = b"the film is good .\nbad \xfe\n" + b"good " * 5000 + b"\nthe plot is dull .\n"
    status, out, err = cli(capsys, "sentiment", str(tiny_run), stdin=stdin, monkeypatch=monkeypatch)
    lines = [json.loads(x) for x in out.splitlines()]
    assert status == 2 and len(lines) == 4 and "label" in lines[0] and "label" in lines[3]
    assert lines[1]["error"].startswith("line 2: not UTF-8") and lines[2]["error"].startswith("line 3: has 25000")
    assert [ln.split(":")[2].strip() for ln in err.splitlines()] == ["line 2", "line 3"]


def test_translate_input_file_names_the_bad_line_in_its_block(mt_run, tmp_path, capsys):
    src = tmp_path / "in.txt"
    src.write_bytes("Ein Hund rennt.\n".encode() * 5 + b"\xc3\x28 kaputt\n" + "Eine Katze schläft.\n".encode())
    status, out, err = cli(capsys, "translate", str(mt_run), "--input", str(src))
    assert status == 2 and out.split("\n")[:7] == ["A dog runs."] * 5 + ["", "A cat sleeps."]
    assert "line 6: not UTF-8" in err


def test_a_surrogate_argument_is_refused_in_one_line(mt_run, capsys):
    one_line(*cli(capsys, "translate", str(mt_run), "Ein \udcff Hund")[::2], "input 0", "not valid Unicode")


# -- damaged files -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def damaged(tmp_path_factory):
    """A gzip file whose middle is corrupted (zlib's 'invalid ...' error, not a clean truncation) and a binary file."""
    folder = tmp_path_factory.mktemp("damaged")
    rng = random.Random(0)
    words = "Hund Katze Mann Frau läuft spielt im Park mit einem Ball rot blau schnell".split()
    text = "".join(" ".join(rng.choice(words) for _ in range(10)) + ".\n" for _ in range(20000)).encode()
    data = gzip.compress(text, mtime=0)
    import zlib

    for offset in range(0, 4000, 13):
        broken = bytearray(data)
        for i in range(len(data) // 2 + offset, len(data) // 2 + offset + 4):
            broken[i] ^= 0xFF
        try:
            gzip.decompress(bytes(broken))
        except zlib.error:
            break
        except (OSError, EOFError):  # a CRC or length mismatch: caught before, not the case wanted here
            continue
    else:
        pytest.fail("no corruption found that zlib reports as such")
    for name in ("bad.de.gz", "bad.en.gz"):
        (folder / name).write_bytes(bytes(broken))
    (folder / "binary.txt").write_bytes(bytes(rng.randrange(256) for _ in range(4000)))
    return folder


def test_a_corrupted_gzip_is_one_line_as_src_and_as_training_data(mt_run, damaged, tmp_path, capsys):
    ref = SAMPLES / "parallel-sample" / "val.en.gz"
    one_line(*cli(capsys, "evaluate", str(mt_run), "--src", str(damaged / "bad.de.gz"), "--ref", str(ref))[::2],
             "bad.de.gz", "damaged")
    out = tmp_path / "run"
    one_line(*cli(capsys, "train", str(MT_RECIPE), "--out", str(out), "--set", f"data.train={damaged / 'bad'}")[::2],
             "bad.de.gz", "damaged")
    assert not out.exists()  # a failed start leaves no folder behind to refuse the corrected command


@pytest.mark.parametrize("recipe, fixture", [(TINY_RECIPE, "tiny_run"), (RNTN_RECIPE, "rntn_run")])
def test_a_binary_file_as_sst_data_is_one_line(recipe, fixture, damaged, tmp_path, capsys, request):
    run = request.getfixturevalue(fixture)
    one_line(*cli(capsys, "evaluate", str(run), "--data", str(damaged / "binary.txt"))[::2],
             "binary.txt", "not UTF-8")
    one_line(*cli(capsys, "train", str(recipe), "--out", str(tmp_path / "r"),
                  "--set", f"data.train={damaged / 'binary.txt'}")[::2], "binary.txt", "not UTF-8")


def _damaged_run(src, tmp_path, name: str):
    run = tmp_path / name
    shutil.copytree(src, run, ignore=shutil.ignore_patterns("checkpoints", "tensorboard"))
    return run


@pytest.mark.parametrize("case, needle", [
    ("a JSON list", "run.json: not a run's information"),
    ("no labels", "run.json: 'labels' is missing"),
    ("another task's run.json", "names the task 'translation'"),
    ("binary vocabulary", "vocab.json: not a vocabulary file"),
    ("a vocabulary one larger", "model.safetensors: these weights do not fit"),
    ("another model's weights", "model.safetensors: these weights do not fit"),
])
def test_run_files_of_the_wrong_shape_are_one_line(tiny_run, rntn_run, mt_run, tmp_path, capsys, case, needle):
    run = _damaged_run(tiny_run, tmp_path, "run")
    info = json.loads((run / "run.json").read_text())
    if case == "a JSON list":
        (run / "run.json").write_text("[1, 2]")
    elif case == "no labels":
        (run / "run.json").write_text(json.dumps({k: v for k, v in info.items() if k != "labels"}))
    elif case == "another task's run.json":
        shutil.copyfile(mt_run / "run.json", run / "run.json")
    elif case == "binary vocabulary":
        (run / "vocab.json").write_bytes(bytes(range(128, 256)) * 4)
    elif case == "a vocabulary one larger":
        vocab = json.loads((run / "vocab.json").read_text())
        (run / "vocab.json").write_text(json.dumps({"tokens": vocab["tokens"] + ["zzz-extra"]}))
    else:
        shutil.copyfile(rntn_run / "model.safetensors", run / "model.safetensors")
    one_line(*cli(capsys, "evaluate", str(run))[::2], needle)


def test_a_shortlist_table_with_ids_outside_the_vocabulary_is_one_line(mt_run, tmp_path, capsys):
    from safetensors.torch import load_file, save_file

    run = _damaged_run(mt_run, tmp_path, "mt")
    assert cli(capsys, "translate", str(run), "--shortlist", "5", "Ein Hund rennt.")[0] == 0  # learns the table
    table = load_file(str(run / "shortlist.safetensors"))
    table["table"][0, 0] = -7
    save_file(table, str(run / "shortlist.safetensors"))
    one_line(*cli(capsys, "translate", str(run), "--shortlist", "5", "Ein Hund rennt.")[::2],
             "shortlist.safetensors", "ids outside")


# -- settings that would be ignored or meaningless -----------------------------------------------
def test_resume_refuses_settings_that_differ_from_the_run(tiny_run, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    before = (run / "model.safetensors").read_bytes()
    one_line(*cli(capsys, "train", str(TINY_RECIPE), "--out", str(run), "--resume", *TINY_FAST,
                  "--set", "train.lr=0.5")[::2], "train.lr differs", "given 0.5")
    assert (run / "model.safetensors").read_bytes() == before


@pytest.mark.parametrize("recipe, setting, needle", [
    (TINY_RECIPE, "train.epochs=-3", "train.epochs"),
    (TINY_RECIPE, "train.max_minutes=0", "train.max_minutes"),
    (TINY_RECIPE, "train.batch_size=0", "train.batch_size"),
    (TINY_RECIPE, "train.batch_size=-4", "train.batch_size"),
    (TINY_RECIPE, "text.max_size=-1", "text.max_size"),
    (TINY_RECIPE, "model.dropout=1", "model.dropout"),
    (MT_RECIPE, "text.vocab_size=-1", "text.vocab_size"),
    (MT_RECIPE, "text.vocab_size=3", "text.vocab_size"),
    (MT_RECIPE, "decode.beam=1000000", "decode.beam"),
])
def test_counts_and_sizes_are_checked_where_declared(recipe, setting, needle, tmp_path, capsys):
    out = tmp_path / "run"
    one_line(*cli(capsys, "train", str(recipe), "--out", str(out), "--set", setting,
                  "--set", "train.tensorboard=false")[::2], needle)
    assert not out.exists()  # the same command, corrected, is not refused as "already holds a run"


@pytest.mark.parametrize("argv, needle", [
    (["translate", "RUN", "--beam", "1000000", "Ein Hund."], "--beam"),
    (["translate", "RUN", "--n-best", "1000000", "Ein Hund."], "--n-best"),
    (["evaluate", "RUN", "--bootstrap", "100000000"], "--bootstrap"),
])
def test_beam_and_resample_counts_have_a_ceiling(mt_run, capsys, argv, needle):
    with pytest.raises(SystemExit) as exit_:
        main([str(mt_run) if a == "RUN" else a for a in argv])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and needle in err.splitlines()[-1] and "from 1 to" in err


def test_compare_checks_every_data_reference_before_training(tmp_path, capsys):
    out = tmp_path / "cmp"
    one_line(*cli(capsys, "compare", str(TINY_RECIPE), "--seeds", "1-2", "--out", str(out),
                  "--data", str(SAMPLES / "sentiment-sample" / "dev.txt"), "--data", "sst:dev@C")[::2], "@C")
    assert not out.exists() or not any(out.rglob("model.safetensors"))


def test_compare_with_one_seed_prints_no_interval(tmp_path, capsys):
    status, out, err = cli(capsys, "compare", str(TINY_RECIPE), "--seeds", "0-0", "--out", str(tmp_path / "cmp"),
                           "--set", "train.epochs=1", "--set", "train.tensorboard=false", "--set", "train.threads=1")
    assert status == 0, err
    row = next(ln for ln in out.splitlines() if ln.startswith("| recipe |"))
    assert "± n/a" in row and "n/a (one seed)" in row and "± 0.00" not in out
