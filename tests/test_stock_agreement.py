"""DecoderPullbackMetric against Geomstats' stock PullbackMetric.

The stock metric runs on a plain Geomstats ``ImmersedSet`` whose immersion
calls the same float64 decoder, with Geomstats' own pytorch autodiff
(per-point Jacobians and Hessians). Both compute the same quantities in
float64, so they must agree to rounding. Curvature is not compared: the
stock ``riemann_tensor`` is wrong under the pytorch backend (design notes).
"""

import pytest
import torch
from conftest import F64

from geomstats.geometry.pullback_metric import PullbackMetric

import known_geometry as known
from geomstats_gen import DecoderPullbackMetric, GeneratedManifold
from geomstats_gen.testing import StockPullbackSpace

F32 = torch.float32
ATOL = known.TOL[F64]["exact"]

# (layer sizes, seed): small smooth decoders, 2-D and 3-D latent spaces.
DECODERS = {
    "mlp2": ([2, 5, 7], 1),
    "mlp3": ([3, 6, 8], 2),
}


def _spaces(name, dtype=F64):
    sizes, seed = DECODERS[name]
    decoder = known.mlp(sizes, seed, dtype)
    ours = GeneratedManifold(decoder, sizes[0])
    return ours, sizes


@pytest.fixture(scope="module", params=sorted(DECODERS))
def pair(request):
    """(ours, stock, latent_dim) on the same float64 decoder."""
    ours, sizes = _spaces(request.param)
    stock = StockPullbackSpace(ours.decoder, sizes[0], sizes[-1])
    assert isinstance(ours.metric, DecoderPullbackMetric)
    assert type(stock.metric) is PullbackMetric
    return ours, stock, sizes[0]


def _data(dim, n=3, seed=0):
    gen = torch.Generator().manual_seed(seed)
    z = torch.rand(n, dim, generator=gen, dtype=F64) * 2 - 1
    a = torch.randn(n, dim, generator=gen, dtype=F64)
    b = torch.randn(n, dim, generator=gen, dtype=F64)
    return z, a, b


def _close(actual, expected, atol=ATOL):
    assert actual.dtype == F64
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    torch.testing.assert_close(actual, expected, atol=atol, rtol=0)


# name -> function(space, z, a, b); each takes batched or unbatched inputs.
QUANTITIES = {
    "immersion": lambda s, z, a, b: s.immersion(z),
    "jacobian_immersion": lambda s, z, a, b: s.jacobian_immersion(z),
    "hessian_immersion": lambda s, z, a, b: s.hessian_immersion(z),
    "tangent_immersion": lambda s, z, a, b: s.tangent_immersion(a, z),
    "metric_matrix": lambda s, z, a, b: s.metric.metric_matrix(z),
    "cometric_matrix": lambda s, z, a, b: s.metric.cometric_matrix(z),
    "inner_product": lambda s, z, a, b: s.metric.inner_product(a, b, z),
    "squared_norm": lambda s, z, a, b: s.metric.squared_norm(a, z),
    "norm": lambda s, z, a, b: s.metric.norm(a, z),
    "inner_product_derivative_matrix": (
        lambda s, z, a, b: s.metric.inner_product_derivative_matrix(z)
    ),
    "christoffels": lambda s, z, a, b: s.metric.christoffels(z),
    "geodesic_equation": lambda s, z, a, b: s.metric.geodesic_equation(
        torch.stack([z, a], dim=-2)
    ),
    "second_fundamental_form": lambda s, z, a, b: s.metric.second_fundamental_form(z),
}


@pytest.mark.parametrize("quantity", sorted(QUANTITIES))
def test_agrees_with_stock_batched(pair, quantity):
    ours, stock, dim = pair
    z, a, b = _data(dim, n=3)
    fn = QUANTITIES[quantity]
    _close(fn(ours, z, a, b), fn(stock, z, a, b))


@pytest.mark.parametrize("quantity", sorted(QUANTITIES))
def test_agrees_with_stock_unbatched(pair, quantity):
    ours, stock, dim = pair
    z, a, b = (t[0] for t in _data(dim, n=1, seed=1))
    fn = QUANTITIES[quantity]
    expected = fn(stock, z, a, b)
    actual = fn(ours, z, a, b)
    _close(actual, expected)
    # Unbatched inputs give unbatched outputs, like the batch of one point.
    _close(actual, fn(ours, z[None], a[None], b[None])[0], atol=1e-14)


@pytest.mark.parametrize("quantity", sorted(QUANTITIES))
def test_chunked_agrees_with_stock(pair, quantity):
    """Chunks of 2 points over a batch of 5: the chunks are concatenated right."""
    ours, stock, dim = pair
    chunked = GeneratedManifold(ours.decoder, dim, chunk_size=2)
    z, a, b = _data(dim, n=5, seed=6)
    fn = QUANTITIES[quantity]
    _close(fn(chunked, z, a, b), fn(stock, z, a, b))


def test_inner_product_broadcasts_like_stock(pair):
    """Several tangent vectors at a single base point."""
    ours, stock, dim = pair
    z, a, b = _data(dim, n=4, seed=2)
    expected = stock.metric.inner_product(a, b, z[0])
    _close(ours.metric.inner_product(a, b, z[0]), expected)
    # And against the metric matrix contracted by hand.
    gram = stock.metric.metric_matrix(z[0])
    _close(ours.metric.inner_product(a, b, z[0]), torch.einsum("ni,ij,nj->n", a, gram, b))


def test_christoffels_are_symmetric_and_match_geodesic_equation(pair):
    ours, _, dim = pair
    z, a, _ = _data(dim, n=3, seed=3)
    gamma = ours.metric.christoffels(z)
    _close(gamma, gamma.transpose(-1, -2), atol=1e-12)
    acc = -torch.einsum("nkij,ni,nj->nk", gamma, a, a)
    out = ours.metric.geodesic_equation(torch.stack([z, a], dim=-2))
    _close(out[:, 1], acc)
    torch.testing.assert_close(out[:, 0], a, atol=0, rtol=0)


# ----------------------------------------------------------------------
# float32 decoders
# ----------------------------------------------------------------------
def _float32_quantities(space, z, a, b):
    metric = space.metric
    return {
        "metric_matrix": metric.metric_matrix(z),
        "inner_product": metric.inner_product(a, b, z),
        "christoffels": metric.christoffels(z),
        "geodesic_equation": metric.geodesic_equation(torch.stack([z, a], dim=-2)),
        "inner_product_derivative_matrix": metric.inner_product_derivative_matrix(z),
        "jacobian_immersion": space.jacobian_immersion(z),
    }


@pytest.mark.parametrize("name", sorted(DECODERS))
def test_float32_decoder_agrees_with_float64_decoder(name):
    ours64, _ = _spaces(name, F64)
    ours32, sizes = _spaces(name, F32)
    assert ours32.work_dtype == F32
    z, a, b = _data(sizes[0], n=3, seed=4)
    expected = _float32_quantities(ours64, z, a, b)
    actual = _float32_quantities(ours32, z, a, b)
    for key, value in actual.items():
        ref = expected[key]
        # float64 inputs: results come back in float64 (computed in float32).
        assert value.dtype == F64, key
        scale = float(ref.abs().max())
        torch.testing.assert_close(
            value, ref, rtol=1e-5, atol=1e-5 * scale, msg=lambda m, k=key: f"{k}: {m}"
        )


@pytest.mark.parametrize("decoder_dtype", [F32, F64])
def test_result_dtype_follows_caller(decoder_dtype):
    ours, sizes = _spaces("mlp2", decoder_dtype)
    z, a, b = _data(sizes[0], n=3, seed=5)
    for point_dtype in (F32, F64):
        cast = [t.to(point_dtype) for t in (z, a, b)]
        results = _float32_quantities(ours, *cast)
        for key, value in results.items():
            assert value.dtype == point_dtype, (key, decoder_dtype, point_dtype)
        ref = _float32_quantities(ours, z, a, b)
        for key, value in results.items():
            scale = float(ref[key].abs().max())
            torch.testing.assert_close(
                value.to(F64), ref[key], rtol=1e-5, atol=1e-5 * scale
            )
