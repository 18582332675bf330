"""Forward jets (:mod:`geomstats_gen.core.jets`) against the autograd paths they replace.

Every derivative a chart gives must be the same, to rounding, whether it
comes from the jet of a sequential decoder (or the closed forms of an
analytic chart) or from autograd on the same function behind a plain
wrapper (which has no jet); decoders the jets cannot follow exactly
(unknown layers, hooks, dropout in training mode) keep the autograd paths.
"""

import pytest
import torch
from torch import nn

from geomstats_gen import (
    ConeChart,
    DecoderChart,
    GeneratedManifold,
    LinearDecoder,
    RollChart,
    SphereChart,
    TorusChart,
)
from geomstats_gen.core.jets import ACTIVATIONS, ClosedFormJet, SequentialJet, jet_of
from geomstats_gen.models._networks import build_networks

F64 = torch.float64


def _wrapped(decoder):
    """The same function without a jet (a plain callable: autograd paths)."""
    return DecoderChart(lambda z: decoder(z), decoder_dim(decoder), dtype=F64)


def decoder_dim(decoder):
    if isinstance(decoder, nn.Sequential):
        return next(m for m in decoder.modules() if isinstance(m, nn.Linear)).in_features
    if isinstance(decoder, LinearDecoder):
        return decoder.matrix.shape[1]
    return 2


def _points(n, dim, seed=0, scale=1.0, shift=0.0):
    gen = torch.Generator().manual_seed(seed)
    return [scale * torch.randn(n, dim, generator=gen, dtype=F64) + shift for _ in range(3)]


def _all_derivatives(chart, z, v, w):
    value, jac = chart.value_and_jacobian(z)
    same = v[None]
    calls = {
        "value": lambda: value,
        "jacobian": lambda: jac,
        "pushforward": lambda: chart.pushforward(z, v)[1],
        "pushforward_many": lambda: chart.pushforward_many(z, torch.stack([v, w])),
        "second": lambda: chart.second_derivative(z, v, w)[2],
        "second_same": lambda: chart.second_derivative(z, v, v)[2],
        "seconds": lambda: chart.jacobian_and_seconds(
            z, torch.stack([v, w]), torch.stack([w, w])
        )[1],
        "seconds_same": lambda: chart.jacobian_and_seconds(z, same, same)[1],
        "second_derivatives": lambda: chart.second_derivatives(
            z, torch.stack([v, w], 1), torch.stack([w, v], 1)
        ),
        "hessian": lambda: chart.hessian(z),
        "weighted_hessian": lambda: chart.weighted_hessian(z, torch.sin(value)),
    }
    out = {}
    for key, call in calls.items():
        try:
            out[key] = call()
        except NotImplementedError:  # torch.func lacks forward-over-forward for silu
            out[key] = None
    return out


def _assert_same(chart, reference, z, v, w):
    with torch.no_grad():
        ours, theirs = _all_derivatives(chart, z, v, w), _all_derivatives(reference, z, v, w)
    assert all(value is not None for value in ours.values())
    for key in ours:
        if theirs[key] is None:
            continue
        scale = theirs[key].abs().max().clamp_min(1e-300)
        err = float((ours[key] - theirs[key]).abs().max() / scale)
        assert err < 1e-12, (key, err)


def _mlp(activation, dim=3):
    torch.manual_seed(0)
    inner = nn.Sequential(nn.Linear(16, 24, dtype=F64), activation)
    return nn.Sequential(nn.Linear(dim, 16, dtype=F64), activation, inner, nn.Linear(24, 7, dtype=F64))


@pytest.mark.parametrize("kind", sorted(ACTIVATIONS, key=lambda k: k.__name__), ids=lambda k: k.__name__)
def test_sequential_jets_equal_autograd(kind):
    activation = {nn.LeakyReLU: lambda: nn.LeakyReLU(0.2), nn.ELU: lambda: nn.ELU(0.7),
                  nn.Softplus: lambda: nn.Softplus(2.0, threshold=1.5)}.get(kind, kind)()
    decoder = _mlp(activation)
    chart = DecoderChart(decoder, 3)
    assert isinstance(chart.jet(), SequentialJet)
    z, v, w = _points(6, 3, scale=1.5)
    _assert_same(chart, _wrapped(decoder), z, v, w)


def test_softplus_jets_on_both_sides_of_the_threshold_with_and_without_grad():
    """beta = 1 (the models' softplus) with a threshold the inputs cross: the
    same derivatives as autograd, and a jet Jacobian that can be
    differentiated again (its sigmoid is kept for the backward pass)."""
    decoder = _mlp(nn.Softplus(threshold=0.5))
    chart = DecoderChart(decoder, 3)
    z, v, w = _points(6, 3, scale=1.5)
    _assert_same(chart, _wrapped(decoder), z, v, w)
    layer = decoder[0]
    assert bool(((layer(z) > 0.5).any() & (layer(z) < 0.5).any()).item())
    z_grad = z.clone().requires_grad_(True)
    grad = torch.autograd.grad(chart.jacobian(z_grad).sum(), z_grad)[0]
    ref = torch.autograd.grad(_wrapped(decoder).jacobian(z_grad).sum(), z_grad)[0]
    assert torch.allclose(grad, ref, rtol=1e-10, atol=1e-12)


def test_convolutional_decoder_jets_equal_autograd():
    # The zoo's conv decoder (dense layers, unflatten, transposed convolutions,
    # flatten) with a strided convolution appended.
    _, decoder = build_networks("conv", 64, 2, (12,), "elu", image_shape=(8, 8), channels=(3,))
    decoder = nn.Sequential(
        *decoder[:-1], nn.Conv2d(1, 2, 3, stride=2, padding=1), nn.SiLU(), nn.Flatten()
    ).double()
    chart = DecoderChart(decoder, 2)
    assert isinstance(chart.jet(), SequentialJet)
    assert chart.output_shape == (32,)
    z, v, w = _points(4, 2)
    _assert_same(chart, _wrapped(decoder), z, v, w)
    empty = _all_derivatives(chart, *(x[:0] for x in (z, v, w)))
    assert empty["jacobian"].shape == (0, 32, 2) and empty["hessian"].shape == (0, 32, 2, 2)


@pytest.mark.parametrize(
    "decoder",
    [SphereChart(1.0), SphereChart(2.5), TorusChart(2.0, 0.7), RollChart(1.0, 0.3),
     ConeChart(0.3), LinearDecoder(torch.arange(10.0, dtype=F64).reshape(5, 2) ** 0.5)],
    ids=lambda d: type(d).__name__,
)
def test_closed_form_charts_equal_autograd(decoder):
    chart = DecoderChart(decoder, 2)
    assert isinstance(chart.jet(), ClosedFormJet)
    z, v, w = _points(5, 2, scale=0.3, shift=1.0)
    _assert_same(chart, _wrapped(decoder), z, v, w)
    value, _, _ = decoder.closed_form_derivatives(z)
    assert torch.equal(value, decoder(z))  # the forward's value to the last bit


def test_decoders_the_jets_cannot_follow_keep_autograd():
    class Doubling(nn.Module):
        def forward(self, x):
            return 2 * x

    class MySequential(nn.Sequential):
        pass

    assert jet_of(nn.Sequential(nn.Linear(2, 3), Doubling())) is None
    assert jet_of(MySequential(nn.Linear(2, 3))) is None
    assert jet_of(nn.Sequential(nn.Linear(2, 3), nn.GELU(approximate="tanh"))) is None
    assert jet_of(lambda z: z) is None
    assert isinstance(jet_of(nn.Sequential(nn.Linear(2, 3), nn.Dropout(0.5))), SequentialJet)

    # A forward hook changes the output: the chart sees it, through autograd.
    decoder = _mlp(nn.Tanh(), dim=2)
    chart = DecoderChart(decoder, 2)
    z, _, _ = _points(3, 2)
    plain = chart.jacobian(z)
    handle = decoder[-1].register_forward_hook(lambda module, args, out: 3 * out)
    try:
        assert chart.jet() is None
        torch.testing.assert_close(chart.jacobian(z), 3 * plain, rtol=1e-12, atol=0)
    finally:
        handle.remove()
    assert chart.jet() is not None

    # Dropout in training mode: the module's output is random, the jet refuses.
    dropped = nn.Sequential(nn.Linear(2, 3, dtype=F64), nn.Tanh(), nn.Dropout(0.5))
    jet = jet_of(dropped.eval())
    assert jet.usable()
    dropped.train()
    assert not jet.usable()


def test_jets_extend_the_callers_graph():
    # With grad on, the jet's Jacobian is differentiable in z and in the
    # weights, and its derivatives equal those through torch.func.
    decoder = _mlp(nn.SiLU(), dim=2)
    chart, reference = DecoderChart(decoder, 2), _wrapped(decoder)
    z0, v, _ = _points(4, 2)
    grads = []
    for c in (chart, reference):
        z = z0.clone().requires_grad_(True)
        decoder.zero_grad()
        jac, second = c.jacobian_and_seconds(z, v[None], v[None])
        ((jac**2).sum() + second.sum()).backward()
        grads.append((z.grad, decoder[0].weight.grad.clone()))
    for ours, theirs in zip(*grads):
        torch.testing.assert_close(ours, theirs, rtol=1e-10, atol=1e-12)


def test_geodesics_through_jets_equal_those_through_autograd():
    decoder = _mlp(nn.Tanh(), dim=2)
    fast = GeneratedManifold(decoder, 2)
    slow = GeneratedManifold(lambda z: decoder(z), 2, dtype=F64)
    a, b, v = _points(4, 2)
    with torch.no_grad():
        for ours, theirs in [
            (fast.metric.exp(v, a), slow.metric.exp(v, a)),
            (fast.metric.log(b, a), slow.metric.log(b, a)),
            (fast.metric.dist(a, b), slow.metric.dist(a, b)),
        ]:
            torch.testing.assert_close(ours, theirs, rtol=1e-7, atol=1e-9)


def test_wide_linear_output_is_reduced_isometrically():
    # g = W h + b with W [40, 12]: the geodesic equations take R h (W = QR).
    torch.manual_seed(1)
    decoder = nn.Sequential(
        nn.Linear(3, 12, dtype=F64), nn.Tanh(), nn.Linear(12, 40, dtype=F64), nn.Unflatten(1, (5, 8))
    )
    chart = DecoderChart(decoder, 3)
    z, v, w = _points(6, 3)
    vs, ws = torch.stack([v, v]), torch.stack([v, w])

    def invariants():
        with torch.no_grad():
            small, small_s = chart.metric_jacobian_and_seconds(z, vs, ws)
            full, full_s = chart.jacobian_and_seconds(z, vs, ws)
        t = lambda x: x.transpose(-1, -2)  # noqa: E731
        return (
            (small.shape[1], full.shape[1]),
            (t(small) @ small, t(full) @ full),
            (t(small) @ small_s.permute(1, 2, 0), t(full) @ full_s.permute(1, 2, 0)),
        )

    dims, grams, pulled = invariants()
    assert dims == (12, 40)
    torch.testing.assert_close(*grams, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(*pulled, rtol=1e-12, atol=1e-12)
    # new weights, same storage: the factor is made again
    with torch.no_grad():
        decoder[2].weight.mul_(1.5)
    _, grams, _ = invariants()
    torch.testing.assert_close(*grams, rtol=1e-12, atol=1e-12)
    # the exp and log maps through the reduction are the exp and log maps
    space = GeneratedManifold(decoder, 3)
    with torch.no_grad():
        assert space.chart.metric_chart().embedding_dim == 12
        fast = space.metric.exp(v, z), space.metric.connecting_geodesic(w, z)
        space.chart._isometry = None
        assert space.chart.metric_chart() is space.chart
        plain = space.metric.exp(v, z), space.metric.connecting_geodesic(w, z)
    torch.testing.assert_close(fast[0], plain[0], rtol=1e-10, atol=1e-12)
    for field in ("length", "energy", "log", "path", "length_error"):
        torch.testing.assert_close(
            getattr(fast[1], field), getattr(plain[1], field), rtol=1e-9, atol=1e-12
        )
    # with grad on, the derivatives themselves (R carries no gradient to W)
    with torch.enable_grad():
        assert chart.metric_jacobian_and_seconds(z, vs, ws)[0].shape == (6, 40, 3)


def test_only_wide_linear_outputs_are_reduced():
    from geomstats_gen.core.isometry import IsometricReduction

    def reduction(*layers):
        return IsometricReduction.of(jet_of(nn.Sequential(*layers)))

    assert reduction(nn.Linear(2, 9), nn.Tanh(), nn.Linear(9, 30)) is not None
    assert reduction(nn.Linear(2, 9), nn.Tanh(), nn.Linear(9, 30), nn.Flatten()) is not None
    assert reduction(nn.Linear(2, 9), nn.Tanh(), nn.Linear(9, 30), nn.Sigmoid()) is None
    assert reduction(nn.Linear(2, 30), nn.Tanh(), nn.Linear(30, 9)) is None
    assert IsometricReduction.of(jet_of(SphereChart(1.0))) is None


def _combined_decoders():
    from geomstats_gen import EnsembleDecoder, FisherRaoDecoder, StochasticDecoder
    from geomstats_gen.models._networks import MeanOfDecoders

    torch.manual_seed(2)
    a, b = _mlp(nn.Tanh(), dim=2), _mlp(nn.SiLU(), dim=2)
    probs = nn.Sequential(_mlp(nn.ELU(), dim=2), nn.Sigmoid())
    std = nn.Sequential(nn.Linear(2, 5, dtype=F64), nn.Softplus())
    return {
        "stochastic": StochasticDecoder(a, std),
        "ensemble": EnsembleDecoder([a, b]),
        "mean of members": MeanOfDecoders([a, b]),
        "fisher-rao gaussian": FisherRaoDecoder(a, "gaussian", scale=0.3),
        "fisher-rao bernoulli": FisherRaoDecoder(probs, "bernoulli"),
        "fisher-rao bernoulli eps=0": FisherRaoDecoder(probs, "bernoulli", eps=0.0),
        "fisher-rao logits": FisherRaoDecoder(a, "bernoulli", logits=True, eps=1e-3),
    }


@pytest.mark.parametrize("name", list(_combined_decoders()))
def test_combined_decoders_jets_equal_autograd(name):
    decoder = _combined_decoders()[name]
    chart = DecoderChart(decoder, 2)
    assert chart.jet() is not None
    z, v, w = _points(5, 2, scale=0.7)
    with torch.no_grad():
        assert torch.equal(chart.jet().propagate(z, v[:, None])[0], chart.decode(z))
    _assert_same(chart, DecoderChart(lambda x: decoder(x), 2, dtype=F64), z, v, w)


def test_combined_decoders_without_jets_for_every_part_keep_autograd():
    from geomstats_gen import EnsembleDecoder, FisherRaoDecoder

    seq = _mlp(nn.Tanh(), dim=2)
    assert jet_of(EnsembleDecoder([seq, lambda z: seq(z)])) is None
    assert jet_of(FisherRaoDecoder(nn.Sequential(seq, nn.Softmax(-1)), "categorical")) is None


def test_triangular_linear_is_the_dense_product():
    from geomstats_gen.core.isometry import TriangularLinear

    gen = torch.Generator().manual_seed(3)
    factor = torch.triu(torch.randn(10, 10, generator=gen, dtype=F64))
    x = torch.randn(4, 3, 10, generator=gen, dtype=F64)
    for n_blocks in (1, 3, 4, 10):
        layer = TriangularLinear(factor, n_blocks=n_blocks)
        torch.testing.assert_close(layer(x), x @ factor.T, rtol=1e-14, atol=1e-14)
    assert len(TriangularLinear(torch.eye(600, dtype=F64)).bounds) == 5  # blocked by default
    assert len(TriangularLinear(torch.eye(256, dtype=F64)).bounds) == 2  # dense
    # a sequential ending with it has a jet (a linear map of the last axis)
    decoder = nn.Sequential(nn.Linear(2, 10, dtype=F64), nn.Tanh(), TriangularLinear(factor, 3))
    chart = DecoderChart(decoder, 2)
    assert isinstance(chart.jet(), SequentialJet)
    z, v, w = _points(5, 2)
    _assert_same(chart, _wrapped(decoder), z, v, w)


def test_closed_forms_of_the_wrong_shape_are_refused_by_name():
    class Wrong(nn.Module):
        def forward(self, z):
            return torch.stack([z[:, 0], z[:, 1], z[:, 0] * z[:, 1]], dim=-1)

        def closed_form_derivatives(self, z):
            jac = z.new_zeros((z.shape[0], 3, 3))  # d = 2, not 3
            return self(z), jac, None

    with pytest.raises(ValueError, match=r"closed_form_derivatives.*jacobian is \(2, 3, 3\), expected \(2, 3, 2\)"):
        DecoderChart(Wrong(), 2, dtype=F64)


@pytest.mark.parametrize("tail", ["linear", "sigmoid"])
def test_second_derivatives_without_the_value(tail):
    """``value=False`` skips the value after the last activation: the same
    Jacobian and second derivatives to rounding (the products have fewer
    rows), and the value None there."""
    torch.manual_seed(3)
    layers = [nn.Linear(3, 16), nn.Tanh(), nn.Linear(16, 24), nn.Flatten(1), nn.Linear(24, 40)]
    if tail == "sigmoid":
        layers.append(nn.Sigmoid())
    jet = SequentialJet.of(nn.Sequential(*layers).double())
    z = torch.randn(5, 3, dtype=F64)
    vs = torch.randn(5, 2, 3, dtype=F64)
    with torch.no_grad():
        full = jet.second_derivatives(z, vs, vs)
        lean = jet.second_derivatives(z, vs, vs, value=False)
    torch.testing.assert_close(lean[1], full[1], rtol=1e-14, atol=1e-14)
    torch.testing.assert_close(lean[2], full[2], rtol=1e-14, atol=1e-14)
    if tail == "linear":
        assert lean[0] is None
    else:
        assert torch.equal(full[0], lean[0])
