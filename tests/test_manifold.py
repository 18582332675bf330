"""GeneratedManifold: construction, shapes, broadcasting, devices, bad input."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from conftest import F64, sphere_points

from geomstats_gen import GeneratedManifold, LinearDecoder, SphereChart, make_mlp
from geomstats_gen.metric import DecoderPullbackMetric


def test_space_is_a_geomstats_immersed_set(mlp_space):
    from geomstats.geometry.base import ImmersedSet

    assert isinstance(mlp_space, ImmersedSet)
    assert isinstance(mlp_space.metric, DecoderPullbackMetric)
    assert mlp_space.dim == 2
    assert mlp_space.shape == (2,)
    assert mlp_space.embedding_space.dim == 12
    assert mlp_space.embedding_dim == 12


def test_image_decoder_output_is_flattened():
    decoder = torch.nn.Sequential(
        torch.nn.Linear(3, 20, dtype=F64), torch.nn.Tanh(), torch.nn.Unflatten(1, (4, 5))
    )
    space = GeneratedManifold(decoder, 3)
    assert space.output_shape == (4, 5)
    assert space.embedding_dim == 20
    z = torch.zeros(6, 3, dtype=F64)
    assert space.immersion(z).shape == (6, 20)
    assert space.jacobian_immersion(z).shape == (6, 20, 3)
    assert space.hessian_immersion(z).shape == (6, 20, 3, 3)
    # values: the flattened output; at z = 0 the Jacobian of tanh(W z + b)
    # is diag(1 - tanh(b)^2) W and the Hessian -2 tanh(b)(1 - tanh(b)^2) w_i w_j
    linear = decoder[0]
    t = torch.tanh(linear.bias)
    torch.testing.assert_close(space.immersion(z[0]), t, atol=1e-15, rtol=0)
    jac = (1 - t**2)[:, None] * linear.weight
    torch.testing.assert_close(space.jacobian_immersion(z[0]), jac, atol=1e-14, rtol=0)
    hess = (-2 * t * (1 - t**2))[:, None, None] * linear.weight[:, :, None] * linear.weight[:, None, :]
    torch.testing.assert_close(space.hessian_immersion(z[0]), hess, atol=1e-13, rtol=0)


@pytest.mark.parametrize("batch", [(), (4,), (2, 3)])
def test_shapes_batched_and_unbatched(mlp_space, batch):
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(*batch, 2, dtype=F64, generator=gen)
    v = torch.randn(*batch, 2, dtype=F64, generator=gen)
    metric = mlp_space.metric
    mat = metric.metric_matrix(z)
    assert mat.shape == (*batch, 2, 2)
    assert metric.cometric_matrix(z).shape == (*batch, 2, 2)
    assert metric.christoffels(z).shape == (*batch, 2, 2, 2)
    assert metric.inner_product(v, v, z).shape == batch
    assert metric.norm(v, z).shape == batch
    assert metric.geodesic_equation(torch.stack([z, v], -2)).shape == (*batch, 2, 2)
    assert mlp_space.immersion(z).shape == (*batch, 12)
    assert mlp_space.tangent_immersion(v, z).shape == (*batch, 12)
    # values, against the Jacobian: G = J^T J, G^-1, <v, v> = |J v|^2,
    # the geodesic equation's first half is the velocity
    jac = mlp_space.jacobian_immersion(z)
    torch.testing.assert_close(mat, jac.transpose(-1, -2) @ jac, atol=1e-13, rtol=0)
    eye = torch.eye(2, dtype=F64).expand(*batch, 2, 2)
    torch.testing.assert_close(metric.cometric_matrix(z) @ mat, eye, atol=1e-10, rtol=0)
    jv = (jac @ v[..., None])[..., 0]
    torch.testing.assert_close(mlp_space.tangent_immersion(v, z), jv, atol=1e-13, rtol=0)
    torch.testing.assert_close(metric.inner_product(v, v, z), (jv**2).sum(-1), atol=1e-12, rtol=0)
    torch.testing.assert_close(metric.norm(v, z), jv.norm(dim=-1), atol=1e-12, rtol=0)
    torch.testing.assert_close(metric.geodesic_equation(torch.stack([z, v], -2))[..., 0, :], v)


def test_batched_equals_unbatched(mlp_space):
    z = torch.randn(5, 2, dtype=F64, generator=torch.Generator().manual_seed(1))
    batched = mlp_space.metric.christoffels(z)
    for i in range(5):
        torch.testing.assert_close(
            mlp_space.metric.christoffels(z[i]), batched[i], atol=1e-14, rtol=0
        )


def test_inner_product_broadcasts_vectors_against_one_base_point(mlp_space):
    gen = torch.Generator().manual_seed(2)
    z = torch.randn(2, dtype=F64, generator=gen)
    vecs = torch.randn(7, 2, dtype=F64, generator=gen)
    gram = mlp_space.metric.metric_matrix(z)
    expected = torch.einsum("ni,ij,nj->n", vecs, gram, vecs)
    torch.testing.assert_close(
        mlp_space.metric.inner_product(vecs, vecs, z), expected, atol=1e-12, rtol=1e-12
    )
    # one vector at many points
    zs = torch.randn(4, 2, dtype=F64, generator=gen)
    grams = mlp_space.metric.metric_matrix(zs)
    expected = torch.einsum("i,nij,j->n", vecs[0], grams, vecs[0])
    torch.testing.assert_close(
        mlp_space.metric.squared_norm(vecs[0], zs), expected, atol=1e-12, rtol=1e-12
    )


def test_chunking_gives_the_same_results():
    decoder = make_mlp([2, 8, 10], dtype=F64, seed=3)
    z = torch.randn(11, 2, dtype=F64, generator=torch.Generator().manual_seed(3))
    whole = GeneratedManifold(decoder, 2)
    chunked = GeneratedManifold(decoder, 2, chunk_size=3)
    tiny_budget = GeneratedManifold(decoder, 2, max_elements=25)
    for space in (chunked, tiny_budget):
        # Chunks change the batch sizes of the matrix products, and with them
        # the BLAS kernels (on AVX-512 machines the last bit moves: 5e-17
        # seen); a chunk that computed the wrong points would be off by O(1).
        torch.testing.assert_close(
            space.hessian_immersion(z), whole.hessian_immersion(z), atol=1e-15, rtol=0
        )
        torch.testing.assert_close(
            space.metric.christoffels(z), whole.metric.christoffels(z), atol=1e-15, rtol=0
        )


def test_jacobian_and_hessian_match_reverse_mode_autograd(mlp_space):
    z = torch.randn(3, 2, dtype=F64, generator=torch.Generator().manual_seed(4))
    decoder = mlp_space.decoder
    for i in range(3):
        jac = torch.autograd.functional.jacobian(lambda x: decoder(x[None])[0], z[i])
        hess = torch.stack(
            [
                torch.autograd.functional.hessian(lambda x: decoder(x[None])[0, a], z[i])
                for a in range(12)
            ]
        )
        torch.testing.assert_close(mlp_space.jacobian_immersion(z[i]), jac, atol=1e-13, rtol=0)
        torch.testing.assert_close(mlp_space.hessian_immersion(z[i]), hess, atol=1e-13, rtol=0)


def test_float32_decoder_with_float64_points():
    dec64 = make_mlp([2, 16, 9], dtype=F64, seed=5)
    dec32 = make_mlp([2, 16, 9], dtype=torch.float32, seed=5)
    s64, s32 = GeneratedManifold(dec64, 2), GeneratedManifold(dec32, 2)
    assert s32.work_dtype == torch.float32
    z = torch.randn(6, 2, dtype=F64, generator=torch.Generator().manual_seed(6))
    g32 = s32.metric.metric_matrix(z)
    assert g32.dtype == F64  # caller's dtype
    torch.testing.assert_close(g32, s64.metric.metric_matrix(z), rtol=1e-5, atol=1e-6)
    out = s32.metric.geodesic_equation(torch.stack([z, z], -2).to(torch.float32))
    assert out.dtype == torch.float32


def test_results_do_not_depend_on_default_dtype(mlp_space):
    z = torch.randn(4, 2, dtype=F64, generator=torch.Generator().manual_seed(7))
    reference = mlp_space.metric.christoffels(z)
    previous = torch.get_default_dtype()
    try:
        torch.set_default_dtype(torch.float32)
        again = mlp_space.metric.christoffels(z)
        sphere = GeneratedManifold(SphereChart(1.0), 2)
        assert sphere.metric.metric_matrix(sphere_points(3)).dtype == F64
    finally:
        torch.set_default_dtype(previous)
    assert again.dtype == F64
    torch.testing.assert_close(again, reference, atol=0, rtol=0)


def test_numpy_and_integer_inputs(linear_space, linear_matrix):
    z = np.array([[1, 2, 3]])
    out = linear_space.metric.metric_matrix(z)
    assert out.dtype == F64
    torch.testing.assert_close(out[0], linear_matrix.T @ linear_matrix, atol=1e-12, rtol=0)


def test_results_carry_no_autograd_graph_unless_asked(mlp_space):
    decoder = make_mlp([2, 8, 5], dtype=F64, seed=8)
    decoder.requires_grad_(True)
    space = GeneratedManifold(decoder, 2)
    z = torch.randn(3, 2, dtype=F64)
    assert not space.metric.metric_matrix(z).requires_grad
    z.requires_grad_(True)
    g = space.metric.metric_matrix(z)
    assert g.requires_grad
    (grad,) = torch.autograd.grad(g[..., 0, 0].sum(), z)
    assert torch.isfinite(grad).all()


# ----------------------------------------------------------------------
# Manifold methods Geomstats leaves abstract
# ----------------------------------------------------------------------
def test_belongs_is_tangent_projection_to_tangent(mlp_space):
    z = torch.tensor([[0.1, 0.2], [float("nan"), 0.0]], dtype=F64)
    assert mlp_space.belongs(z).tolist() == [True, False]
    assert mlp_space.belongs(torch.zeros(4, 3)).tolist() == [False] * 4
    assert mlp_space.is_tangent(torch.ones(2, dtype=F64), z).tolist() == [True, False]
    proj = mlp_space.projection(z[:1])
    torch.testing.assert_close(proj, z[:1])
    assert proj.data_ptr() != z.data_ptr()
    vec = torch.tensor([1.0, -1.0], dtype=F64)
    base = torch.zeros(5, 2, dtype=F64)
    tangent = mlp_space.to_tangent(vec, base)
    assert tangent.shape == (5, 2)
    torch.testing.assert_close(tangent, vec.expand(5, 2))


def test_random_point_distribution(mlp_space):
    torch.manual_seed(0)
    pts = mlp_space.random_point(n_samples=2000, bound=3.0)
    assert pts.shape == (2000, 2) and pts.dtype == F64
    assert pts.abs().max() <= 3.0
    assert abs(float(pts.mean())) < 0.15
    assert abs(float(pts.var()) - 3.0) < 0.2  # uniform on [-3, 3]: variance 3
    assert mlp_space.random_point().shape == (2,)


# ----------------------------------------------------------------------
# Bad input
# ----------------------------------------------------------------------
def test_wrong_latent_dimension_names_the_argument(mlp_space):
    with pytest.raises(ValueError, match=r"`base_point` must have shape \[\.\.\., 2\]"):
        mlp_space.metric.metric_matrix(torch.zeros(4, 3, dtype=F64))
    with pytest.raises(ValueError, match="`tangent_vec_b`"):
        mlp_space.metric.inner_product(
            torch.zeros(2, dtype=F64), torch.zeros(3, dtype=F64), torch.zeros(2, dtype=F64)
        )
    with pytest.raises(ValueError, match="`state` must have shape"):
        mlp_space.metric.geodesic_equation(torch.zeros(3, 2, dtype=F64))


def test_non_finite_values_are_rejected(mlp_space):
    with pytest.raises(ValueError, match="`base_point` contains non-finite"):
        mlp_space.metric.metric_matrix(torch.tensor([float("inf"), 0.0], dtype=F64))
    with pytest.raises(ValueError, match="`point` contains non-finite"):
        mlp_space.immersion(torch.tensor([float("nan"), 0.0], dtype=F64))


def test_shapes_that_do_not_broadcast(mlp_space):
    with pytest.raises(ValueError, match="do not broadcast"):
        mlp_space.metric.inner_product(
            torch.zeros(3, 2, dtype=F64), torch.zeros(3, 2, dtype=F64), torch.zeros(4, 2, dtype=F64)
        )


def test_missing_base_point(mlp_space):
    with pytest.raises(ValueError, match="`base_point` is required"):
        mlp_space.metric.metric_matrix()


def test_bad_decoders():
    with pytest.raises(TypeError, match="`decoder` must be a callable"):
        GeneratedManifold("not a module", 2)
    with pytest.raises(ValueError, match="`latent_dim` must be a positive integer"):
        GeneratedManifold(SphereChart(), 0)
    with pytest.raises(ValueError, match="`latent_dim` must be a positive integer"):
        GeneratedManifold(SphereChart(), 2.5)
    with pytest.raises(ValueError, match="cannot be flattened"):
        GeneratedManifold(lambda z: z.sum(), 2)
    with pytest.raises(TypeError, match="must return a torch.Tensor"):
        GeneratedManifold(lambda z: z.tolist(), 2)
    with pytest.raises(ValueError, match=r"failed on a batch of latent codes of shape \[2, 5\]"):
        GeneratedManifold(LinearDecoder(torch.ones(4, 3, dtype=F64)), 5)
    with pytest.raises(TypeError, match="`space` must be a geomstats_gen.GeneratedManifold"):
        from geomstats.geometry.euclidean import Euclidean

        DecoderPullbackMetric(Euclidean(2))


def test_training_mode_dropout_or_batch_norm_is_refused_and_the_module_untouched():
    decoder = torch.nn.Sequential(torch.nn.Linear(2, 4, dtype=F64), torch.nn.Dropout(0.5))
    with pytest.raises(ValueError, match="training mode with Dropout.*decoder.eval"):
        GeneratedManifold(decoder, 2)
    norm = torch.nn.Sequential(torch.nn.Linear(2, 4, dtype=F64), torch.nn.BatchNorm1d(4, dtype=F64))
    before = norm[1].running_mean.clone()
    with pytest.raises(ValueError, match="BatchNorm1d"):
        GeneratedManifold(norm, 2)
    assert norm.training and torch.equal(norm[1].running_mean, before)  # not modified
    assert int(norm[1].num_batches_tracked) == 0
    GeneratedManifold(decoder.eval(), 2)
    space = GeneratedManifold(norm.eval(), 2)
    assert torch.equal(norm[1].running_mean, before)
    assert space.metric.metric_matrix(torch.zeros(2, dtype=F64)).shape == (2, 2)


def test_a_function_wrapping_a_float32_module():
    """No parameters to read the dtype from: float32 is probed, or stated."""
    module = make_mlp([2, 8, 5], dtype=torch.float32, seed=0)
    reference = GeneratedManifold(module, 2)
    z = torch.tensor([[0.2, -0.4]], dtype=F64)
    space = GeneratedManifold(lambda codes: module(codes), 2)
    assert space.work_dtype == torch.float32
    torch.testing.assert_close(space.metric.metric_matrix(z), reference.metric.metric_matrix(z))
    stated = GeneratedManifold(lambda codes: module(codes), 2, dtype=torch.float32, device="cpu")
    assert stated.work_dtype == torch.float32 and stated.work_device == torch.device("cpu")
    with pytest.raises(ValueError, match="pass dtype= and device="):
        GeneratedManifold(lambda codes: module(codes.to(torch.int64)), 2)
    with pytest.raises(TypeError, match="`dtype`"):
        GeneratedManifold(lambda codes: module(codes), 2, dtype="float32")


def test_a_decoder_on_the_meta_device_is_refused():
    with pytest.raises(ValueError, match="'meta' device"):
        GeneratedManifold(make_mlp([2, 4, 3]).to("meta"), 2)


# ----------------------------------------------------------------------
# Backend selection (fresh interpreters)
# ----------------------------------------------------------------------
def _run(code, env_backend=None):
    import os

    env = {k: v for k, v in os.environ.items() if k != "GEOMSTATS_BACKEND"}
    if env_backend is not None:
        env["GEOMSTATS_BACKEND"] = env_backend
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_import_selects_pytorch_backend():
    out = _run(
        """
        import geomstats_gen, geomstats.backend as gs
        print(gs.__name__)
        """
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "geomstats.pytorch"


def test_import_after_numpy_geomstats_raises():
    out = _run(
        """
        import geomstats.backend
        import geomstats_gen
        """
    )
    assert out.returncode != 0
    assert "already imported with the 'numpy' backend" in out.stderr


def test_import_with_other_backend_requested_raises():
    out = _run("import geomstats_gen", env_backend="numpy")
    assert out.returncode != 0
    assert "GEOMSTATS_BACKEND is 'numpy'" in out.stderr


def test_points_outside_the_domain_warn():
    from geomstats_gen.manifold import OutsideDomainWarning

    space = GeneratedManifold(make_mlp([2, 6, 4], dtype=F64, seed=9), 2, domain_radius=3.0)
    inside = torch.tensor([[1.0, 2.0]], dtype=F64)
    far = torch.tensor([[10.0, 0.0]], dtype=F64)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", OutsideDomainWarning)
        space.metric.metric_matrix(inside)
        space.metric.norm(far, inside)  # a long tangent vector is fine
    with pytest.warns(OutsideDomainWarning, match=r"`base_point`: 1 of 1 .*norm up to 10 > domain_radius=3"):
        space.metric.metric_matrix(far)
    with pytest.raises(ValueError, match="`domain_radius` must be a positive number"):
        GeneratedManifold(SphereChart(), 2, domain_radius=-1)


def test_placement_is_read_live_from_the_decoder():
    """Converting or moving the decoder after the manifold is built is fine:
    the metric follows (results stay in the caller's dtype)."""
    decoder = make_mlp([2, 8, 5], dtype=torch.float64, seed=0)
    space = GeneratedManifold(decoder, 2)
    z = torch.tensor([[0.3, -0.2], [0.1, 0.4]], dtype=torch.float64)
    g64 = space.metric.metric_matrix(z)
    d64 = space.metric.dist(z[0], z[1])
    decoder.float()
    assert space.work_dtype == torch.float32 and space.chart.work_dtype == torch.float32
    g32 = space.metric.metric_matrix(z)
    assert g32.dtype == torch.float64
    torch.testing.assert_close(g32, g64, rtol=1e-5, atol=1e-6)
    assert abs(float(space.metric.dist(z[0], z[1])) - float(d64)) < 1e-4 * float(d64)
    decoder.double()  # float64 again (weights rounded to float32 on the way)
    assert space.work_dtype == torch.float64
    torch.testing.assert_close(space.metric.metric_matrix(z), g64, rtol=1e-6, atol=0)
    decoder.to("meta")
    assert space.work_device == torch.device("meta")


def test_first_derivative_call_emits_no_deprecation_warning():
    """torch's forward AD scripts 18 functions with the deprecated
    torch.jit.script on first use; the package loads them quietly (in a
    fresh process, where they are not loaded yet)."""
    code = textwrap.dedent(
        """
        import warnings
        import torch
        import geomstats_gen as gg
        warnings.simplefilter("error", DeprecationWarning)
        space = gg.GeneratedManifold(gg.make_mlp([2, 8, 5], dtype=torch.float64), 2)
        print(float(space.metric.metric_matrix(torch.zeros(2, dtype=torch.float64))[0, 0]))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert float(out.stdout) > 0


def test_to_dtype_copies_and_keeps_settings():
    decoder = make_mlp([2, 8, 5], dtype=torch.float32, seed=0)
    space = GeneratedManifold(decoder, 2, domain_radius=3.0)
    space.metric.log_solver.n_nodes = 8
    copy64 = space.to_dtype(torch.float64)
    assert copy64.work_dtype == torch.float64 and space.work_dtype == torch.float32
    assert copy64.decoder is not decoder and copy64.domain_radius == 3.0
    assert copy64.metric.log_solver.n_nodes == 8
    z = torch.tensor([[0.1, 0.2]], dtype=F64)
    torch.testing.assert_close(copy64.metric.metric_matrix(z), space.metric.metric_matrix(z),
                               rtol=1e-5, atol=1e-7)
    with pytest.raises(TypeError, match="`dtype`"):
        space.to_dtype("float64")
