"""PTB trees for the parser: cleaning, the binary form and back, the reader's references and errors."""

import pytest
from nltk import Tree

from nlpseq.data.ptb import (EMPTY, binarize, clean_label, clean_tree, debinarize, read_ptb, shape_tree, strip_root,
                             to_sentiment_tree)
from nlpseq.errors import DataError

RAW = """( (S (NP-SBJ-1 (NNP John) ) (VP (VBD wanted) (S (NP-SBJ (-NONE- *-1) ) (VP (TO to)
 (VP (VB leave) (ADVP-TMP (RB early) ))))) (. .) ))"""


def test_clean_label():
    assert [clean_label(x) for x in ("NP-SBJ-1", "PP-LOC=2", "-LRB-", "-NONE-", "S")] == \
        ["NP", "PP", "-LRB-", "-NONE-", "S"]


def test_clean_tree_removes_empty_elements_and_function_tags():
    tree = strip_root(clean_tree(Tree.fromstring(RAW)))
    assert tree.label() == "S"
    assert tree.leaves() == ["John", "wanted", "to", "leave", "early", "."]
    # The embedded S lost its empty subject and keeps only its VP.
    assert str(tree[1][1]) == "(S (VP (TO to) (VP (VB leave) (ADVP (RB early)))))"


def test_binarize_collapses_unaries_right_factors_and_round_trips():
    tree = strip_root(clean_tree(Tree.fromstring(RAW)))
    b = binarize(tree)
    assert b.words[0] == "John" and b.tags[:2] == ["NNP", "VBD"]
    assert b.leaf_labels == ["NP", EMPTY, EMPTY, EMPTY, "ADVP", EMPTY]
    labels = {(s, e): lab for s, e, _, _, lab in b.nodes}
    assert labels[(2, 5)] == "S+VP"  # unary chain S -> VP collapsed into one node
    assert labels[(1, 6)] == EMPTY  # the node right-factoring adds under the ternary S
    assert labels[(0, 6)] == "S"
    assert len(b.nodes) == len(b.words) - 1  # a full binary tree
    assert debinarize(b) == tree


def test_debinarize_gives_an_empty_root_a_label():
    b = binarize(Tree.fromstring("(S (NP (DT a) (NN b)) (VP (VB c)))"))
    s, e, l, r, _ = b.nodes[-1]
    b.nodes[-1] = (s, e, l, r, EMPTY)
    assert debinarize(b, root_label="FRAG").label() == "FRAG"


def test_shapes_and_sentiment_trees():
    sst = Tree.fromstring("(3 (2 A) (4 (3 good) (2 film)))")
    assert str(shape_tree(sst)) == "(P (W A) (P (W good) (W film)))"
    parse = Tree.fromstring("(S (NP (DT The) (NN dog)) (VP (VBD saw) (NP (DT a) (NN cat))) (. .))")
    sent = to_sentiment_tree(parse)
    assert sent.leaves() == parse.leaves()
    assert all(len(n) == 2 or n.height() == 2 for n in sent.subtrees())
    assert {n.label() for n in sent.subtrees()} == {"2"}


def test_read_ptb_file_folder_and_errors(tmp_path):
    (tmp_path / "a.mrg").write_text(RAW + "\n( (NP (DT the) (NN end)) )\n")
    (tmp_path / "b.mrg").write_text("( (S (NP (PRP It)) (VP (VBZ works))) )\n")
    assert len(read_ptb(str(tmp_path / "a.mrg"))) == 2
    assert len(read_ptb(str(tmp_path))) == 3
    (tmp_path / "bad.mrg").write_text("( (S (NP (PRP It)) (VP (VBZ works)) )\n")
    with pytest.raises(DataError, match=r"bad.mrg:1: unbalanced"):
        read_ptb(str(tmp_path / "bad.mrg"))
    with pytest.raises(DataError, match="file range"):
        read_ptb("ptb-sample:1-x")
