"""Our recursive-network parser beside nltk's PCFG Viterbi parser, on the same dev sentences.

The PCFG is induced from the parser run's own training trees (binarized with nltk's
``chomsky_normal_form``) and parses the *gold* part-of-speech sequence, so unknown words never
block it; ours parses from the words alone. Both are scored with the same evalb-style scorer.

Usage: python benchmarks/parsing.py RUN [--max-words 15] [--data REF] [--json OUT.json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from nltk import Nonterminal, Tree, induce_pcfg
from nltk.parse import ViterbiParser

from nlpseq.api import load_run
from nlpseq.metrics.parseval import score_trees
from nlpseq.machine import describe, machine_facts

ROOT = Path(__file__).resolve().parent.parent


def tag_tree(tree: Tree) -> Tree:
    """A copy whose words are replaced by their tags, so the grammar's terminals are the tags."""
    t = tree.copy(deep=True)
    for pos in t.treepositions("leaves"):
        t[pos] = t[pos[:-1]].label()
    return t


def induce(trees: list[Tree], markov: int) -> object:
    productions = []
    for tree in trees:
        t = Tree("TOP", [tag_tree(tree)])
        t.chomsky_normal_form(factor="right", horzMarkov=markov)
        productions += t.productions()
    return induce_pcfg(Nonterminal("TOP"), productions)


def pcfg_parse(parser: ViterbiParser, gold: Tree) -> Tree:
    """The Viterbi parse of ``gold``'s tag sequence with its words put back; a flat tree when none exists."""
    words, tags = zip(*gold.pos())
    try:
        best = next(iter(parser.parse(list(tags))), None)
    except (ValueError, TimeoutError):  # a tag the grammar never saw, or past max_time
        best = None
    if best is None:
        return Tree("S", [Tree(t, [w]) for w, t in zip(words, tags)])
    best.un_chomsky_normal_form()
    tree = best[0] if best.label() == "TOP" else best
    for pos, word in zip(tree.treepositions("leaves"), words):
        tree[pos] = word
    return tree


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("run", help="a parser run directory (its recipe names the training trees)")
    ap.add_argument("--data", help="dev trees (default: the run's dev set)")
    ap.add_argument("--max-words", type=int, default=15)
    ap.add_argument("--markov", type=int, default=2, help="horizontal Markov order of the PCFG's binarization")
    ap.add_argument("--max-time", type=float, default=300.0,
                    help="seconds nltk's Viterbi parser may spend on one sentence (nltk's default is 5)")
    ap.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "parsing.json"))
    args = ap.parse_args()
    task, model = load_run(args.run, "parsing")
    dev = [t for t in task.read_eval(args.data).trees if len(t.leaves()) <= args.max_words]
    rows = []

    t0 = time.perf_counter()
    ours = task.parse_tokens(model, [t.leaves() for t in dev])
    rows.append(("nlpseq recursive parser (words)", score_trees(dev, ours), time.perf_counter() - t0))

    t0 = time.perf_counter()
    grammar = induce(task.read(task.recipe.data.train).trees, args.markov)
    parser = ViterbiParser(grammar, max_time=args.max_time)
    theirs = [pcfg_parse(parser, g) for g in dev]
    rows.append((f"nltk PCFG Viterbi (gold tags, {len(grammar.productions())} rules)", score_trees(dev, theirs),
                 time.perf_counter() - t0))

    print(f"dev sentences of at most {args.max_words} words: {len(dev)}")
    print(f"{'parser':52} {'labeled F1':>10} {'unlab. F1':>10} {'exact':>7} {'seconds':>8}")
    for name, s, sec in rows:
        print(f"{name:52} {s['labeled_f1']:10.2f} {s['unlabeled_f1']:10.2f} {s['exact_match']:7.2f} {sec:8.1f}")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    machine = machine_facts()
    print(describe(machine))
    Path(args.json).write_text(json.dumps({"machine": machine, "config": vars(args), "sentences": len(dev),
                                           "results": {n: {**s, "seconds": sec} for n, s, sec in rows}}, indent=2) + "\n")


if __name__ == "__main__":
    main()
