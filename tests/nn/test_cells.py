"""Per-step cells and layers: torch parity, gradcheck, padding, regularizers."""

import pytest
import torch

from nlpseq.nn.cells import CELLS
from nlpseq.nn.layers import CellLayer, CellRNN
from nlpseq.errors import RecipeError
from nlpseq.nn.recurrent import RecurrentEncoder, RecurrentOptions

@pytest.fixture(autouse=True, scope="module")
def _float64():
    # Parity and gradcheck need float64; set here, not at import, so other modules are unaffected.
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def copy_from_torch(ours: CellRNN, ref: torch.nn.RNNBase) -> None:
    with torch.no_grad():
        for i, directions in enumerate(ours.layers):
            for d, layer in enumerate(directions):
                sfx = f"_l{i}" + ("_reverse" if d else "")
                layer.proj.weight.copy_(getattr(ref, "weight_ih" + sfx))
                layer.proj.bias.copy_(getattr(ref, "bias_ih" + sfx))
                layer.cell.W_hh.weight.copy_(getattr(ref, "weight_hh" + sfx))
                layer.cell.W_hh.bias.copy_(getattr(ref, "bias_hh" + sfx))


@pytest.mark.parametrize("name, cls", [("lstm", torch.nn.LSTM), ("gru", torch.nn.GRU)])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_matches_torch_outputs_and_gradients(name, cls, bidirectional):
    torch.manual_seed(0)
    ref = cls(4, 5, num_layers=2, batch_first=True, bidirectional=bidirectional)
    ours = CellRNN(name, 4, 5, num_layers=2, bidirectional=bidirectional)
    copy_from_torch(ours, ref)
    x = torch.randn(3, 6, 4, requires_grad=True)
    lengths = torch.tensor([6, 6, 6])
    ref_out, _ = ref(x)
    out, _, _ = ours(x, lengths)
    assert torch.allclose(out, ref_out, atol=1e-5)
    g = torch.randn_like(out)
    gx_ref, = torch.autograd.grad((ref_out * g).sum(), x)
    gx, = torch.autograd.grad((out * g).sum(), x)
    assert torch.allclose(gx, gx_ref, atol=1e-5)
    w_ref = torch.autograd.grad((ref(x)[0] * g).sum(), ref.weight_hh_l0)[0]
    w = torch.autograd.grad((ours(x, lengths)[0] * g).sum(), ours.layers[0][0].cell.W_hh.weight)[0]
    assert torch.allclose(w, w_ref, atol=1e-5)


@pytest.mark.parametrize("name", list(CELLS))
def test_gradcheck(name):
    torch.manual_seed(0)
    layer = CellLayer(name, 3, 2)
    x = torch.randn(2, 3, 3, requires_grad=True)
    lengths = torch.tensor([3, 2])
    assert torch.autograd.gradcheck(lambda inp: layer(inp, lengths)[0], (x,), eps=1e-6, atol=1e-5)


@pytest.mark.parametrize("name", list(CELLS))
def test_padding_never_changes_states(name):
    torch.manual_seed(0)
    rnn = CellRNN(name, 3, 4, num_layers=2, bidirectional=True).eval()
    lengths = torch.tensor([5, 2, 4])
    x = torch.randn(3, 5, 3)
    out, h, c = rnn(x, lengths)
    assert (c is not None) == (CELLS.get(name).state_count == 2)
    for i, n in enumerate(lengths.tolist()):
        alone, h_alone, c_alone = rnn(x[i : i + 1, :n], lengths[i : i + 1])
        assert torch.allclose(out[i, :n], alone[0], atol=1e-6, rtol=0)
        assert torch.allclose(h[:, i], h_alone[:, 0], atol=1e-6, rtol=0)
        if c is not None:  # the memory cell too: padded steps must not run it on
            assert torch.allclose(c[:, i], c_alone[:, 0], atol=1e-6, rtol=0)
        assert out[i, n:].abs().sum() == 0


@pytest.mark.parametrize("option", ["variational_dropout", "recurrent_dropout"])
def test_dropouts_are_identities_in_eval(option):
    torch.manual_seed(0)
    plain = CellLayer("lstm", 3, 4).eval()
    regular = CellLayer("lstm", 3, 4, **{option: 0.5}).eval()
    regular.load_state_dict(plain.state_dict())
    x, lengths = torch.randn(2, 5, 3), torch.tensor([5, 3])
    assert torch.equal(plain(x, lengths)[0], regular(x, lengths)[0])
    regular.train()
    assert not torch.equal(plain(x, lengths)[0], regular(x, lengths)[0])


def test_variational_mask_is_shared_by_every_step():
    torch.manual_seed(0)
    layer = CellLayer("elman", 6, 6, variational_dropout=0.5).train()
    with torch.no_grad():
        layer.cell.U.weight.zero_()  # no recurrence: each output sees only its own (masked) input
    x = torch.randn(1, 1, 6).expand(8, 7, 6)  # the same input at every step
    out, _ = layer(x, torch.full((8,), 7))
    assert torch.equal(out, out[:, :1].expand_as(out))  # so every step gives the same output
    assert len({tuple(row.tolist()) for row in out[:, 0]}) > 1  # but each sequence has its own mask


def test_zoneout_keeps_states_in_training_and_uses_the_expectation_in_eval():
    torch.manual_seed(0)
    frozen = CellLayer("gru", 3, 4, zoneout=1.0).train()
    out, state = frozen(torch.randn(2, 5, 3), torch.tensor([5, 5]))
    assert out.abs().sum() == 0 and state[0].abs().sum() == 0  # every unit kept its zero start state
    half = CellLayer("gru", 3, 4, zoneout=0.5).eval()
    plain = CellLayer("gru", 3, 4).eval()
    plain.load_state_dict(half.state_dict())
    x = torch.randn(1, 1, 3)
    one = plain(x, torch.tensor([1]))[0]
    assert torch.allclose(half(x, torch.tensor([1]))[0], 0.5 * one)  # 0.5 * zero start + 0.5 * update


def test_encoder_uses_fused_kernels_only_when_no_per_step_feature_is_asked():
    assert RecurrentEncoder(3, 4, cell="lstm").fused
    assert not RecurrentEncoder(3, 4, cell="lstm", zoneout=0.1).fused
    assert not RecurrentEncoder(3, 4, cell="sru").fused


@pytest.mark.parametrize("name", [*CELLS, "fused_lstm", "fused_gru"])
def test_a_carried_state_continues_the_sequence(name):
    # Truncated BPTT's premise: two chunks with the state carried give the outputs of one pass.
    torch.manual_seed(0)
    cell = name.removeprefix("fused_")
    enc = RecurrentEncoder(6, 5, num_layers=2, cell=cell, skip=not name.startswith("fused"))
    assert enc.fused == name.startswith("fused")
    x = torch.randn(3, 9, 6)
    full = torch.full((3,), 9)
    whole, _ = enc(x, full, return_state=True)
    first, state = enc(x[:, :4], torch.full((3,), 4), return_state=True)
    second, _ = enc(x[:, 4:], torch.full((3,), 5), state, return_state=True)
    assert torch.allclose(torch.cat([first, second], 1), whole, atol=1e-6)


@pytest.mark.parametrize("name", ["sru", "qrnn"])
@pytest.mark.parametrize("size", [5, 7])  # SRU: identity highway when sizes match, W_s x otherwise
def test_the_vectorised_scan_equals_the_step_loop(name, size):
    torch.manual_seed(0)
    layer = CellLayer(name, size, 5).double()
    x = torch.randn(3, 6, size, dtype=torch.float64, requires_grad=True)
    lengths = torch.tensor([6, 4, 1])
    out_scan, state_scan = layer(x, lengths)
    g_scan = torch.autograd.grad(out_scan.sum() + state_scan[0].sum() + state_scan[1].sum(), x)[0]
    layer.cell.scan = None  # this instance now takes the per-step path
    out_step, state_step = layer(x, lengths)
    g_step = torch.autograd.grad(out_step.sum() + state_step[0].sum() + state_step[1].sum(), x)[0]
    assert torch.allclose(out_scan, out_step) and torch.allclose(g_scan, g_step)
    assert all(torch.allclose(a, b) for a, b in zip(state_scan, state_step))


@pytest.mark.parametrize("window", [1, 2])
def test_qrnn_matches_the_papers_equations(window):
    # z, f, o = W * [x_{t-k+1} .. x_t]; c_t = f c_{t-1} + (1 - f) tanh(z); h_t = sigmoid(o) c_t
    torch.manual_seed(0)
    layer = CellLayer("qrnn", 4, 3, window=window)
    x = torch.randn(2, 5, 4)
    out, (h, c) = layer(x, torch.tensor([5, 5]))
    w, b = layer.proj.weight, layer.proj.bias
    assert w.shape == (9, 4 * window)
    c_ref, prev = torch.zeros(2, 3), torch.zeros(2, 4)
    for t in range(5):
        inp = torch.cat([prev, x[:, t]], -1) if window == 2 else x[:, t]
        z, f, o = (inp @ w.T + b).chunk(3, -1)
        f = torch.sigmoid(f)
        c_ref = f * c_ref + (1 - f) * torch.tanh(z)
        assert torch.allclose(out[:, t], torch.sigmoid(o) * c_ref)
        prev = x[:, t]
    assert torch.allclose(c, c_ref) and torch.allclose(h, out[:, -1])


def test_qrnn_window_1_passes_gradcheck_and_bad_windows_are_refused():
    torch.manual_seed(0)
    layer = CellLayer("qrnn", 3, 2, window=1)
    x = torch.randn(2, 3, 3, requires_grad=True)
    assert torch.autograd.gradcheck(lambda inp: layer(inp, torch.tensor([3, 2]))[0], (x,), eps=1e-6, atol=1e-5)
    with pytest.raises(RecipeError, match="model.qrnn_window: must be 1 or 2, got 3"):
        CellLayer("qrnn", 3, 2, window=3)


def test_recipe_keys_reach_the_cells():
    opts = RecurrentOptions(cell="qrnn", hidden_size=5, qrnn_window=1)
    layer = RecurrentEncoder.from_options(4, opts).rnn.layers[0][0]
    assert layer.width == 1 and layer.proj.in_features == 4
    rhn = RecurrentEncoder.from_options(4, RecurrentOptions(cell="rhn", hidden_size=5, rhn_depth=2)).rnn.layers[0][0]
    assert len(rhn.cell.R) == 2


def test_cells_describe_themselves_and_the_docs_list_every_registered_cell():
    import re

    from nlpseq.nn.recurrent import RecurrentOptions, cell_class

    from ..conftest import ROOT

    assert cell_class("lstm").fused is torch.nn.LSTM and cell_class("gru").fused_step is torch.nn.GRUCell
    assert cell_class("elman").fused is None and cell_class("qrnn").conv_width == 2
    assert [cell_class(n).state_count for n in ("lstm", "gru", "sru", "elman")] == [2, 1, 2, 1]
    # each cell's own keys are recipe keys of every recurrent model section
    assert {"rhn_depth", "qrnn_window"} <= set(RecurrentOptions.model_fields)
    assert RecurrentOptions(cell="rhn", rhn_depth=2).cell_options() == {"depth": 2}
    assert RecurrentOptions(cell="lstm").cell_options() == {}
    line = re.search(r"`model\.cell: ([a-z_ |]+)`", (ROOT / "docs" / "concepts.md").read_text()).group(1)
    builtin = [n for n, c in CELLS.items() if c.__module__ == "nlpseq.nn.cells"]  # tests may register more
    assert sorted(n.strip() for n in line.split("|")) == builtin


@pytest.mark.parametrize("cell", ["lstm", "gru", "sru", "rhn"])
def test_stepping_a_layer_draws_and_applies_the_same_regularizers_as_running_it(cell):
    # A decoder steps one token at a time; with the same random draws it must compute what the
    # whole-sequence loop computes: one variational and one recurrent mask per sequence, zoneout per step.
    layer = CellLayer(cell, 6, 5, variational_dropout=0.3, recurrent_dropout=0.4, zoneout=0.25).train()
    x = torch.randn(3, 4, 6)
    torch.manual_seed(11)
    whole, final = layer(x, torch.tensor([4, 4, 4]))
    torch.manual_seed(11)
    noise = layer.noise(3, x)
    state, outs = layer.cell.init_state(3, x), []
    for t in range(4):
        state = layer.step(x[:, t], state, noise)
        outs.append(state[0])
    assert torch.allclose(torch.stack(outs, 1), whole, atol=1e-6)  # one matmul for all steps vs one per step
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(state, final))
    # The masks are really there: without them the outputs differ.
    state = layer.cell.init_state(3, x)
    assert not torch.allclose(layer.step(x[:, 0], state)[0], outs[0])
    assert layer.eval().noise(3, x) is None
