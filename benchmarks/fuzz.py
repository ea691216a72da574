"""Fuzzing with figures: generated inputs against the tree readers, the recipe loader, the tokenizers
and the HTTP API; every case must end in an answer or a one-line toolkit error.

Usage: python benchmarks/fuzz.py [--cases 10000] [--targets sst,ptb,recipe,tokenizers,gzip,runs,http]
       [--sentiment-run RUN --translate-run RUN --tree-run RUN] [--json OUT.json]

Each target draws ``--cases`` inputs with hypothesis (seeded: ``--seed``), structure-aware where it
matters (bracket trees, recipes built from the bundled one, JSON bodies) plus raw text and bytes, with
mutations of valid inputs (deleted, doubled and swapped characters, truncation); gzip corpora with
bytes flipped, cut or inserted; trained runs with a file replaced (JSON of another shape, bytes, a
truncation, another run's file); lone surrogates in JSON; and valid trees up to a tree model's
node limit, as deep as a chain. A case's outcome:

- ok: the call returned;
- toolkit error: it raised an nlpseq error (or, over HTTP, a 4xx/429/503 JSON ``{"error": ...}``)
  whose message is one line;
- other: any other exception, a multi-line message, a 5xx other than a 503 for a timeout, or a body
  that is not a JSON error;
- hang: the case took longer than ``--hang-s`` (5 s); it is stopped by an alarm.

The table prints the counts per target and the first few "other" cases; the JSON holds them all. The
HTTP and run-file targets need trained runs (``--sentiment-run``, ``--translate-run``, ``--tree-run``);
without them they train the bundled sample recipes first (about a minute). A smaller derandomized slice runs in the suite
(tests/test_fuzz_slice.py).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as fixed_seed
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nlpseq.errors import NlpseqError  # noqa: E402

TINY_RECIPE = ROOT / "recipes" / "sentiment" / "tiny_lstm.yaml"


class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang()


# -- strategies ----------------------------------------------------------------------------------
LABELS = st.sampled_from(["0", "1", "2", "3", "4", "5", "-1", "S", "NP", "VP", "NP-SBJ-1", "-NONE-", "", "2.5", "é"])
WORDS = st.one_of(st.sampled_from(["the", "film", "(", ")", "\\", "-LRB-", "*T*-1", "0", " ", "\t", "\u200b"]),
                  st.text(min_size=0, max_size=6))


SST_LABELS = st.one_of(st.sampled_from(["0", "1", "2", "3", "4"]), LABELS)


def trees(labels: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Bracketed trees with these node labels and awkward words."""
    def node(children):
        return st.builds(lambda label, kids: f"({label} {' '.join(kids)})", labels,
                         st.lists(children, min_size=1, max_size=3))

    return st.recursive(st.builds(lambda label, word: f"({label} {word})", labels, WORDS), node, max_leaves=12)


@st.composite
def mutated(draw, base: st.SearchStrategy[str]) -> str:
    """A valid-looking input, then a few character-level mutations."""
    text = draw(base)
    for _ in range(draw(st.integers(0, 3))):
        if not text:
            break
        i = draw(st.integers(0, len(text) - 1))
        op = draw(st.sampled_from(["delete", "double", "insert", "truncate", "swap"]))
        if op == "delete":
            text = text[:i] + text[i + 1:]
        elif op == "double":
            text = text[:i] + text[i] + text[i:]
        elif op == "insert":
            text = text[:i] + draw(st.sampled_from(["(", ")", " ", "\n", "\x00", "é", "((", "))"])) + text[i:]
        elif op == "truncate":
            text = text[:i]
        else:
            j = draw(st.integers(0, len(text) - 1))
            chars = list(text)
            chars[i], chars[j] = chars[j], chars[i]
            text = "".join(chars)
    return text


def tree_files(labels: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.lists(mutated(trees(labels)), min_size=0, max_size=4).map("\n".join),
        st.lists(trees(labels), min_size=1, max_size=4).map("\n".join),  # well-formed, to reach the checks after parsing
        st.text(max_size=200),
        st.builds(lambda n: "(" * n + ")" * n, st.integers(0, 50_000)),  # deep nesting
    )

YAML_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20),
              st.sampled_from([".nan", ".inf", "-.inf", "9" * 5000, "*a", "&a x", "!!python/object:os.system x", "~",
                               "[", "{", "'", '"', "|", ">", "- ", "0x1F", "1e400", "\t", "é"])),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=8)
RECIPE_KEYS = st.sampled_from(["task", "seed", "description", "data", "data.train", "data.corpus", "text",
                               "text.tokenizer", "model", "model.name", "model.cell", "model.hidden_size",
                               "model.dropout", "train", "train.lr", "train.epochs", "train.optimizer", "decode",
                               "train.schedule", "unknown", "model.zoneout"])


@st.composite
def recipes(draw) -> bytes:
    kind = draw(st.sampled_from(["edit", "edit", "mutate", "bytes", "bomb", "deep"]))
    base = TINY_RECIPE.read_text(encoding="utf-8")
    if kind == "bytes":
        return draw(st.binary(max_size=300))
    if kind == "bomb":
        n = draw(st.integers(2, 12))
        lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"] + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]"
                                                              for i in range(1, n)]
        key = draw(st.sampled_from(["description", "seed", "train.epochs"]))
        return (base + "\n".join(lines) + f"\n{key.split('.')[-1]}: *a{n - 1}\n").encode()
    if kind == "deep":
        n = draw(st.integers(10, 20_000))
        return (base + "description: " + "[" * n + "]" * n + "\n").encode()
    if kind == "mutate":
        return draw(mutated(st.just(base))).encode("utf-8", "surrogatepass")
    key = draw(RECIPE_KEYS)
    value = json.dumps(draw(YAML_VALUES)) if draw(st.booleans()) else str(draw(YAML_VALUES))
    lines = [ln for ln in base.splitlines() if not ln.startswith(key.split(".")[0] + ":") or "." in key]
    if "." in key:
        section, sub = key.split(".", 1)
        out = []
        for ln in lines:
            out.append(ln)
            if ln.startswith(section + ":"):
                out.append(f"  {sub}: {value}")
        lines = out
    else:
        lines.append(f"{key}: {value}")
    return "\n".join(lines).encode("utf-8", "surrogatepass")


TEXTS = st.one_of(st.text(max_size=300), mutated(st.sampled_from(
    ["The film's \"best\" moments -- and there are many -- can't save it.", "Ein Hund rennt im Park.",
     "(3 (2 A) (3 film))", "won't gonna U.S.A. e-mail@x.org :-) $3.50", ""])),
    st.binary(max_size=100).map(lambda b: b.decode("utf-8", "replace")))

JSON_VALUES = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                                     st.text(max_size=30), st.just("x" * 5000)),
                           lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                   st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                           max_leaves=10)


ENDPOINTS = ["/v1/sentiment", "/v1/translate", "/v1/trees"]


@st.composite
def deep_trees(draw) -> str:
    """Valid SST trees of up to 500 leaves (999 nodes, a tree model's default limit), shaped as a chain
    to the right or the left or at random: the deepest trees a request may hold."""
    import random

    leaves = draw(st.integers(1, 500))
    shape = draw(st.sampled_from(["right", "left", "random"]))
    rng = random.Random(draw(st.integers(0, 2**32)))
    nodes = [f"({rng.randrange(5)} w{i})" for i in range(leaves)]
    while len(nodes) > 1:
        i = {"right": len(nodes) - 2, "left": 0}.get(shape, rng.randrange(len(nodes) - 1))
        nodes[i : i + 2] = [f"({rng.randrange(5)} {nodes[i]} {nodes[i + 1]})"]
    return nodes[0]


@st.composite
def bodies(draw) -> tuple[str, bytes]:
    """(endpoint, raw body): JSON objects near the schema, wrong types, huge strings, invalid JSON."""
    endpoint = draw(st.sampled_from(ENDPOINTS))
    kind = draw(st.sampled_from(["near", "near", "any-json", "invalid", "huge", "surrogate"]))
    if kind == "surrogate":  # JSON escapes of lone surrogates: valid JSON, text no tokenizer takes
        escape = draw(st.sampled_from(["\\ud800", "\\udfff", "\\udc80", "\\ud83d"]))
        text = json.dumps(draw(TEXTS), ensure_ascii=True)[1:-1]
        at = draw(st.integers(0, len(text)))
        field = draw(st.sampled_from(['"text": "{}"', '"texts": ["a film", "{}"]']))
        return endpoint, ("{" + field.format(text[:at].rstrip("\\") + escape + text[at:]) + "}").encode()
    if kind == "invalid":
        return endpoint, draw(st.one_of(st.binary(max_size=200), mutated(st.just('{"text": "a good film"}')).map(
            lambda s: s.encode("utf-8", "surrogatepass"))))
    if kind == "any-json":
        return endpoint, json.dumps(draw(JSON_VALUES)).encode()
    if kind == "huge":
        return endpoint, json.dumps({"text": "word " * draw(st.integers(100, 400_000))}).encode()
    body: dict[str, Any] = {}
    if endpoint == "/v1/trees" and draw(st.booleans()):
        body["texts"] = draw(st.lists(deep_trees(), min_size=1, max_size=3))
        body["phrases"] = draw(st.booleans())
        return endpoint, json.dumps(body).encode()
    if draw(st.booleans()):
        body["text"] = draw(st.one_of(TEXTS, JSON_VALUES))
    if draw(st.booleans()):
        body["texts"] = draw(st.one_of(st.lists(TEXTS, max_size=70), JSON_VALUES))
    for key in draw(st.lists(st.sampled_from(["beam", "n_best", "phrases", "render", "attention", "other"]),
                             max_size=3)):
        body[key] = draw(st.one_of(st.integers(-5, 100), st.booleans(), JSON_VALUES))
    return endpoint, json.dumps(body).encode()


# -- targets ---------------------------------------------------------------------------------------
def _write(tmp: Path, name: str, data: bytes | str) -> Path:
    path = tmp / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass"))
    return path


def reader_target(kind: str, tmp: Path) -> tuple[st.SearchStrategy, Callable[[Any], Any]]:
    from nlpseq.data.ptb import read_ptb
    from nlpseq.data.trees import read_sentiment_trees

    read = read_sentiment_trees if kind == "sst" else read_ptb
    return tree_files(SST_LABELS if kind == "sst" else LABELS), lambda text: read(str(_write(tmp, "case.txt", text)))


def recipe_target(tmp: Path) -> tuple[st.SearchStrategy, Callable[[Any], Any]]:
    from nlpseq.recipe import load_recipe

    return recipes(), lambda data: load_recipe(_write(tmp, "case.yaml", data))


def tokenizer_target(tmp: Path) -> tuple[st.SearchStrategy, Callable[[Any], Any]]:
    import gzip

    from nlpseq.text.subword import SentencePieceTokenizer
    from nlpseq.text.tokenizers import get_tokenizer
    from nlpseq.text.vocab import Vocab

    lines = gzip.open(ROOT / "data" / "parallel-sample" / "train.de.gz", "rt", encoding="utf-8").read().splitlines()
    sp = SentencePieceTokenizer.train(lines, vocab_size=200)
    words = {name: get_tokenizer(name, lowercase=True) for name in ("ptb", "whitespace", "char")}
    vocab = Vocab.build([words["ptb"].tokenize(t) for t in lines[:200]])

    def run(text: str) -> None:
        for tok in words.values():
            tokens = tok.tokenize(text)
            tok.detokenize(tokens)
            vocab.encode(tokens)
        pieces = sp.tokenize(text)
        sp.detokenize(pieces)
        sp.vocab().encode(pieces)

    return TEXTS, run


class HttpRefusal(NlpseqError):
    """A 4xx/429/503 answer with a one-line JSON error: what the service should give bad requests."""


def http_target(tmp: Path, sentiment_run: Path, translate_run: Path, tree_run: Path
                ) -> tuple[st.SearchStrategy, Callable]:
    from fastapi.testclient import TestClient

    from nlpseq.serve import Limits, create_app, load_served

    app = create_app({"sentiment": load_served("sentiment", sentiment_run, in_process=True),
                      "translate": load_served("translate", translate_run, in_process=True),
                      "trees": load_served("sentiment", tree_run, in_process=True)},
                     Limits(max_texts=16, max_chars=6000, max_beam=4, timeout_s=30, max_body_bytes=64_000))
    client = TestClient(app).__enter__()

    def run(case: tuple[str, bytes]) -> None:
        endpoint, body = case
        res = client.post(endpoint, content=body, headers={"content-type": "application/json"})
        if res.status_code == 200:
            return
        try:
            error = res.json()["error"]
        except Exception:
            raise RuntimeError(f"{res.status_code} without a JSON error: {res.text[:200]}") from None
        # 503 is for a model that is busy past the timeout; a model that failed on a request is a bug.
        if res.status_code >= 500 and not (res.status_code == 503 and "did not answer within" in error):
            raise RuntimeError(f"{res.status_code}: {error}")
        raise HttpRefusal(error)

    return bodies(), run


def damaged_gzip_target(tmp: Path) -> tuple[st.SearchStrategy, Callable[[Any], Any]]:
    """The bundled parallel sample's gzip files with bytes flipped, cut or inserted, read as a corpus."""
    from nlpseq.data.readers import read_parallel

    src = (ROOT / "data" / "parallel-sample" / "train.de.gz").read_bytes()
    tgt = ROOT / "data" / "parallel-sample" / "train.en.gz"

    @st.composite
    def damaged(draw) -> bytes:
        data = bytearray(src)
        for _ in range(draw(st.integers(1, 4))):
            at = draw(st.integers(0, len(data) - 1))
            kind = draw(st.sampled_from(["flip", "cut", "insert"]))
            if kind == "flip":
                data[at] ^= draw(st.integers(1, 255))
            elif kind == "cut":
                del data[at : at + draw(st.integers(1, 64))]
            else:
                data[at:at] = draw(st.binary(min_size=1, max_size=16))
        return bytes(data)

    return damaged(), lambda data: read_parallel(_write(tmp, "case.de.gz", data), tgt)


def run_files_target(tmp: Path, sentiment_run: Path, translate_run: Path, tree_run: Path
                     ) -> tuple[st.SearchStrategy, Callable[[Any], Any]]:
    """A trained run whose run.json, vocab.json, recipe.yaml or weights are replaced: by JSON of
    another shape, random bytes, a truncation, or the same file of another run; then loaded."""
    import shutil

    from nlpseq.tasks.base import load_run

    runs = [sentiment_run, translate_run, tree_run]
    names = ["run.json", "vocab.json", "recipe.yaml", "model.safetensors"]

    @st.composite
    def damage(draw) -> tuple[int, str, str, Any]:
        run = draw(st.integers(0, 2))
        name = draw(st.sampled_from(names))
        kind = draw(st.sampled_from(["json", "bytes", "truncate", "foreign"]))
        value = {"json": JSON_VALUES, "bytes": st.binary(max_size=300), "truncate": st.floats(0, 1),
                 "foreign": st.integers(0, 2)}[kind]
        return run, name, kind, draw(value)

    def load(case: tuple[int, str, str, Any]) -> None:
        index, name, kind, value = case
        run = tmp / "damaged-run"
        shutil.rmtree(run, ignore_errors=True)
        shutil.copytree(runs[index], run, ignore=shutil.ignore_patterns("checkpoints", "tensorboard"))
        path = run / name
        if kind == "json":
            path.write_text(json.dumps(value))
        elif kind == "bytes":
            path.write_bytes(value)
        elif kind == "truncate":
            data = path.read_bytes() if path.exists() else b""
            path.write_bytes(data[: int(len(data) * value)])
        elif (runs[value] / name).exists():
            shutil.copyfile(runs[value] / name, path)
        load_run(run)

    return damage(), load


# -- the loop --------------------------------------------------------------------------------------
def fuzz(name: str, strategy: st.SearchStrategy, fn: Callable[[Any], Any], cases: int, seed: int,
         hang_s: float = 5.0, derandomize: bool = False) -> dict:
    """Run ``fn`` on ``cases`` drawn inputs; count outcomes (never raises for a bad case)."""
    counts = {"cases": 0, "ok": 0, "toolkit_error": 0, "other": 0, "hang": 0}
    examples: list[str] = []
    old = signal.signal(signal.SIGALRM, _alarm)

    # Generation only: no shrinking (a failing case is reported as drawn) and no example database.
    @settings(max_examples=cases, deadline=None, database=None, derandomize=derandomize, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def check(case):
        counts["cases"] += 1
        signal.setitimer(signal.ITIMER_REAL, hang_s)
        try:
            fn(case)
            counts["ok"] += 1
        except Hang:
            counts["hang"] += 1
            examples.append(f"hang: {case!r:.200}")
        except NlpseqError as exc:
            if "\n" in str(exc) or not str(exc):
                counts["other"] += 1
                examples.append(f"multi-line or empty {type(exc).__name__}: {case!r:.150} -> {str(exc)[:200]!r}")
            else:
                counts["toolkit_error"] += 1
        except Exception as exc:  # noqa: BLE001 (the point is to count these)
            counts["other"] += 1
            examples.append(f"{type(exc).__name__}: {case!r:.150} -> {str(exc)[:200]!r}")
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)

    t0 = time.perf_counter()
    try:
        (check if derandomize else fixed_seed(seed)(check))()
    finally:
        signal.signal(signal.SIGALRM, old)
    counts["seconds"] = time.perf_counter() - t0
    counts["examples"] = examples
    return counts


def _train_sample(tmp: Path, recipe: str, name: str) -> Path:
    out = tmp / name
    subprocess.run([sys.executable, "-m", "nlpseq.cli", "train", str(ROOT / recipe), "--out", str(out),
                    "--set", "train.tensorboard=false", "--set", "train.epochs=2"], cwd=ROOT, check=True,
                   capture_output=True)
    return out


def sample_runs(tmp: Path, args: argparse.Namespace) -> tuple[Path, Path, Path]:
    """The sentiment, translation and tree runs the service and run-file targets use, trained once."""
    if not hasattr(sample_runs, "runs"):
        sample_runs.runs = tuple(Path(given) if given else _train_sample(tmp, recipe, name) for given, recipe, name in (
            (args.sentiment_run, "recipes/sentiment/tiny_lstm.yaml", "sentiment"),
            (args.translate_run, "recipes/translation/tiny_de_en.yaml", "translation"),
            (args.tree_run, "recipes/trees/tiny_rntn.yaml", "trees")))
    return sample_runs.runs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=10_000)
    ap.add_argument("--targets", default="sst,ptb,recipe,tokenizers,gzip,runs,http")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--hang-s", type=float, default=5.0)
    ap.add_argument("--sentiment-run")
    ap.add_argument("--translate-run")
    ap.add_argument("--tree-run")
    ap.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "fuzz.json"))
    args = ap.parse_args()
    from nlpseq.machine import describe, machine_facts

    results = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for name in args.targets.split(","):
            if name in ("sst", "ptb"):
                strategy, fn = reader_target(name, tmp)
            elif name == "recipe":
                strategy, fn = recipe_target(tmp)
            elif name == "tokenizers":
                strategy, fn = tokenizer_target(tmp)
            elif name == "gzip":
                strategy, fn = damaged_gzip_target(tmp)
            elif name in ("http", "runs"):
                sent, trans, tree = sample_runs(tmp, args)
                strategy, fn = (http_target if name == "http" else run_files_target)(tmp, sent, trans, tree)
            else:
                raise SystemExit(f"unknown target '{name}'; choose from sst, ptb, recipe, tokenizers, gzip, runs, http")
            results[name] = fuzz(name, strategy, fn, args.cases, args.seed, args.hang_s)
            r = results[name]
            print(f"{name:11} {r['cases']:7d} cases  ok {r['ok']:6d}  toolkit errors {r['toolkit_error']:6d}  "
                  f"other {r['other']:4d}  hangs {r['hang']:3d}  ({r['seconds']:.0f} s)", flush=True)
    for name, r in results.items():
        for line in r["examples"][:5]:
            print(f"  {name}: {line}")
    out = {"cases_per_target": args.cases, "seed": args.seed, "hang_s": args.hang_s, "results": results,
           "machine": machine_facts()}
    print(describe(out["machine"]))
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    sys.exit(1 if any(r["other"] or r["hang"] for r in results.values()) else 0)


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    main()
