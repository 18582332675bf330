r"""Exact curvature of the pullback metric from second derivatives only.

The latent space with the pullback metric :math:`G = J^T J` is isometric to
the decoded submanifold :math:`g(\mathbb{R}^d) \subset \mathbb{R}^D`, so its
curvature follows from the **Gauss equation**

.. math::
    \langle R(X, Y) Z, W \rangle
    = \langle \mathrm{II}(Y, Z), \mathrm{II}(X, W) \rangle
    - \langle \mathrm{II}(X, Z), \mathrm{II}(Y, W) \rangle,

with :math:`R(X, Y) = \nabla_X \nabla_Y - \nabla_Y \nabla_X - \nabla_{[X, Y]}`
(Geomstats' convention; the unit sphere has :math:`R(x, y) z = \langle y, z
\rangle x - \langle x, z \rangle y`) and the second fundamental form

.. math::
    \mathrm{II}_{ij} = (I - J G^{-1} J^T)\, \partial_i \partial_j g,

the normal part of the Hessian of the decoder. Only first and second
derivatives of the decoder are needed (forward-over-forward JVPs), never
third derivatives or derivatives of the Christoffel symbols, which is what
Geomstats' generic ``Connection.riemann_tensor`` differentiates.

All functions take the :class:`~geomstats_gen.GeneratedManifold` ``space``
(or its :class:`~geomstats_gen.core.chart.DecoderChart`) first, accept leading batch dimensions that broadcast together, and return
results in the dtype (promoted over the arguments) and on the device of
their first argument.

Index conventions are those of Geomstats 2.8.0:

- ``riemann_tensor[..., i, j, k, l]`` :math:`= R^l_{ijk} = dx^l(R(e_j, e_k) e_i)`;
- ``curvature(a, b, c)`` :math:`= R(a, b) c = R^l_{ijk} a^j b^k c^i`;
- ``covariant_riemann_tensor[..., i, j, k, l]`` :math:`= R_{ijkl} =
  \langle R(e_k, e_l) e_j, e_i \rangle`;
- ``ricci_tensor[..., i, k]`` :math:`= R^j_{ijk}`;
- ``sectional_curvature(a, b)`` :math:`= \langle R(a, b) b, a \rangle /
  (|a|^2 |b|^2 - \langle a, b \rangle^2)`, positive on a sphere;
- ``second_fundamental_form[..., alpha, i, j]`` (ambient index first) and
  ``mean_curvature_vector`` :math:`= G^{ij} \mathrm{II}_{ij}` (no ``1/d``).
"""

import warnings

import torch

from geomstats_gen.core.chart import as_chart
from geomstats_gen.core.linalg import inverse_metric_from_jacobian, pullback_solve
from geomstats_gen.core.piecewise import is_piecewise_linear
from geomstats_gen.exceptions import PiecewiseLinearWarning

__all__ = [
    "PiecewiseLinearWarning",
    "covariant_riemann_tensor",
    "curvature",
    "mean_curvature_vector",
    "ricci_tensor",
    "riemann_tensor",
    "scalar_curvature",
    "second_fundamental_form",
    "sectional_curvature",
]


def _warn_if_piecewise_linear(chart, what):
    if is_piecewise_linear(chart.decoder):
        warnings.warn(
            f"{what} of a piecewise linear decoder (ReLU-like activations only): "
            "its curvature is zero almost everywhere (and undefined on the kinks). "
            "Use a smooth activation (tanh, softplus, SiLU, ELU) for a meaningful "
            "curvature.",
            PiecewiseLinearWarning,
            stacklevel=3,
        )


# ----------------------------------------------------------------------
# Building blocks on flat working tensors
# ----------------------------------------------------------------------
def _normal_part(jac, vectors):
    """``(I - J G^{-1} J^T) vectors`` for ``vectors`` of shape ``[n, D, k]``."""
    return vectors - jac @ pullback_solve(jac, vectors)


def _flat_second_fundamental_form(chart, z):
    """II at flat points: ``jac [n, D, d]`` and ``II [n, D, d, d]``."""
    jac = chart.jacobian(z)
    chart.check_immersion(jac, "base_point")
    hess = chart.hessian(z)
    n, emb, dim = jac.shape
    second = _normal_part(jac, hess.reshape(n, emb, dim * dim)).reshape(n, emb, dim, dim)
    # Symmetrise away the round-off of the solve.
    return jac, 0.5 * (second + second.transpose(-1, -2))


def _flat_second_derivatives(chart, z, pairs):
    """``d^2 g(z)[v_k, w_k]`` for a list of pairs of ``[n, d]`` tensors: ``[n, D, k]``."""
    vs = torch.stack([v for v, _ in pairs], dim=1)
    ws = torch.stack([w for _, w in pairs], dim=1)
    return chart.second_derivatives(z, vs, ws)


def _flat_riemann_covariant(second):
    """``C[n, a, b, c, w] = <R(e_a, e_b) e_c, e_w>`` from II ``[n, D, d, d]``."""
    n, emb, dim, _ = second.shape
    flat = second.reshape(n, emb, dim * dim)
    # inner[n, i, j, k, m] = <II_ij, II_km>
    inner = (flat.transpose(-1, -2) @ flat).reshape(n, dim, dim, dim, dim)
    # <R(e_a, e_b) e_c, e_w> = <II_bc, II_aw> - <II_ac, II_bw>
    return inner.permute(0, 3, 1, 2, 4) - inner.permute(0, 1, 3, 2, 4)


# ----------------------------------------------------------------------
# Public functions
# ----------------------------------------------------------------------
def second_fundamental_form(space, base_point):
    r"""Second fundamental form of the decoded submanifold.

    :math:`\mathrm{II}^\alpha_{ij} = \big((I - J G^{-1} J^T)\,
    \partial_i \partial_j g\big)^\alpha`, which equals Geomstats'
    :math:`\partial_{ij} g^\alpha - \Gamma^k_{ij} \partial_k g^\alpha`.

    Parameters
    ----------
    space : GeneratedManifold or DecoderChart
    base_point : array-like, shape=[..., d]

    Returns
    -------
    second_fundamental_form : torch.Tensor, shape=[..., D, d, d]
        Ambient index first.
    """
    chart = as_chart(space)
    _warn_if_piecewise_linear(chart, "Second fundamental form")
    return chart.evaluate(
        lambda z: _flat_second_fundamental_form(chart, z)[1], base_point=base_point
    )


def mean_curvature_vector(space, base_point):
    r"""Mean curvature vector :math:`H = G^{ij} \mathrm{II}_{ij}`.

    Geomstats' convention: the trace, without a ``1/d`` factor (a sphere of
    radius ``r`` has :math:`|H| = 2 / r`).

    Parameters
    ----------
    space : GeneratedManifold or DecoderChart
    base_point : array-like, shape=[..., d]

    Returns
    -------
    mean_curvature_vector : torch.Tensor, shape=[..., D]
    """
    chart = as_chart(space)
    _warn_if_piecewise_linear(chart, "Mean curvature vector")

    def kernel(z):
        jac, second = _flat_second_fundamental_form(chart, z)
        return torch.einsum("nij,naij->na", inverse_metric_from_jacobian(jac), second)

    return chart.evaluate(kernel, base_point=base_point)


def covariant_riemann_tensor(space, base_point):
    r"""Covariant Riemann tensor :math:`R_{ijkl} = \langle R(e_k, e_l) e_j, e_i \rangle`.

    Geomstats' ``covariant_riemann_tensor`` convention, from the Gauss
    equation (no inverse metric needed).

    Parameters
    ----------
    space : GeneratedManifold or DecoderChart
    base_point : array-like, shape=[..., d]

    Returns
    -------
    covariant_riemann_tensor : torch.Tensor, shape=[..., d, d, d, d]
    """
    chart = as_chart(space)
    _warn_if_piecewise_linear(chart, "Riemann tensor")

    def kernel(z):
        _, second = _flat_second_fundamental_form(chart, z)
        return _flat_riemann_covariant(second).permute(0, 4, 3, 1, 2)  # from [n, k, l, j, i]

    return chart.evaluate(kernel, base_point=base_point)


def riemann_tensor(space, base_point):
    r"""Riemann curvature tensor :math:`R^l_{ijk} = dx^l(R(e_j, e_k) e_i)`.

    Geomstats' ``Connection.riemann_tensor`` convention (contravariant index
    last), from the Gauss equation.

    Parameters
    ----------
    space : GeneratedManifold or DecoderChart
    base_point : array-like, shape=[..., d]

    Returns
    -------
    riemann_tensor : torch.Tensor, shape=[..., d, d, d, d]
        ``riemann_tensor[..., i, j, k, l]`` :math:`= R^l_{ijk}`.
    """
    chart = as_chart(space)
    _warn_if_piecewise_linear(chart, "Riemann tensor")

    def kernel(z):
        jac, second = _flat_second_fundamental_form(chart, z)
        cov = _flat_riemann_covariant(second)  # [n, j, k, i, m]
        return torch.einsum("njkim,nml->nijkl", cov, inverse_metric_from_jacobian(jac))

    return chart.evaluate(kernel, base_point=base_point)


def curvature(space, tangent_vec_a, tangent_vec_b, tangent_vec_c, base_point):
    r"""Riemann curvature map :math:`R(a, b) c`, Geomstats' ``curvature``.

    Its coordinates are :math:`G^{-1} w` with :math:`w_m = \langle
    \mathrm{II}(b, c), \mathrm{II}(a, e_m) \rangle - \langle \mathrm{II}(a,
    c), \mathrm{II}(b, e_m) \rangle`, from ``2 d + 2`` second directional
    derivatives (forward over forward) and the Jacobian; no Hessian is built.

    Parameters
    ----------
    space : GeneratedManifold or DecoderChart
    tangent_vec_a, tangent_vec_b, tangent_vec_c : array-like, shape=[..., d]
    base_point : array-like, shape=[..., d]

    Returns
    -------
    curvature : torch.Tensor, shape=[..., d]
        :math:`R^l_{ijk} a^j b^k c^i`.
    """
    chart = as_chart(space)
    _warn_if_piecewise_linear(chart, "Curvature")

    def kernel(a, b, c, z):
        jac = chart.jacobian(z)
        chart.check_immersion(jac, "base_point")
        n, dim = z.shape
        eye = torch.eye(dim, dtype=z.dtype, device=z.device)
        basis = [eye[m].expand(n, dim) for m in range(dim)]
        pairs = [(b, c), (a, c)] + [(a, e) for e in basis] + [(b, e) for e in basis]
        second = _normal_part(jac, _flat_second_derivatives(chart, z, pairs))
        ii_bc, ii_ac = second[..., 0], second[..., 1]
        ii_a = second[..., 2 : 2 + dim]  # [n, D, d]
        ii_b = second[..., 2 + dim :]
        lowered = torch.einsum("na,nam->nm", ii_bc, ii_a) - torch.einsum(
            "na,nam->nm", ii_ac, ii_b
        )
        return (inverse_metric_from_jacobian(jac) @ lowered.unsqueeze(-1)).squeeze(-1)

    return chart.evaluate(
        kernel,
        tangent_vec_a=tangent_vec_a,
        tangent_vec_b=tangent_vec_b,
        tangent_vec_c=tangent_vec_c,
        base_point=base_point,
    )


def sectional_curvature(space, tangent_vec_a, tangent_vec_b, base_point):
    r"""Sectional curvature of the plane spanned by two tangent vectors.

    :math:`K(u, v) = (\langle \mathrm{II}(u, u), \mathrm{II}(v, v) \rangle
    - |\mathrm{II}(u, v)|^2) / (|u|^2 |v|^2 - \langle u, v \rangle^2)`, from
    three second directional derivatives (one forward-over-forward JVP per
    pair of vectors) and the Jacobian; no Hessian is built. Zero where the
    vectors are parallel (as in Geomstats).

    Parameters
    ----------
    space : GeneratedManifold or DecoderChart
    tangent_vec_a, tangent_vec_b : array-like, shape=[..., d]
    base_point : array-like, shape=[..., d]

    Returns
    -------
    sectional_curvature : torch.Tensor, shape=[...]
    """
    chart = as_chart(space)
    _warn_if_piecewise_linear(chart, "Sectional curvature")

    def kernel(u, v, z):
        # K is invariant under scaling u and v: rescaling them to a largest
        # entry of 1 keeps tiny (even subnormal) or huge inputs from under- or
        # overflowing in the squared norms (float32 especially)
        u, v = _unit_max(u), _unit_max(v)
        jac = chart.jacobian(z)
        chart.check_immersion(jac, "base_point")
        second = _normal_part(jac, _flat_second_derivatives(chart, z, [(u, u), (v, v), (u, v)]))
        ii_uu, ii_vv, ii_uv = second.unbind(-1)
        numerator = (ii_uu * ii_vv).sum(-1) - (ii_uv * ii_uv).sum(-1)
        ju = (jac @ u.unsqueeze(-1)).squeeze(-1)
        jv = (jac @ v.unsqueeze(-1)).squeeze(-1)
        uu, vv, uv = (ju * ju).sum(-1), (jv * jv).sum(-1), (ju * jv).sum(-1)
        denominator = uu * vv - uv * uv
        # parallel vectors up to the rounding of the working dtype
        degenerate = denominator <= max(1e-14, 64 * torch.finfo(z.dtype).eps) * uu * vv
        safe = torch.where(degenerate, torch.ones_like(denominator), denominator)
        return torch.where(degenerate, torch.zeros_like(numerator), numerator / safe)

    return chart.evaluate(
        kernel, tangent_vec_a=tangent_vec_a, tangent_vec_b=tangent_vec_b, base_point=base_point
    )


def _unit_max(vec):
    """``vec`` divided by its largest absolute entry (zero vectors unchanged)."""
    scale = vec.abs().amax(dim=-1, keepdim=True)
    return torch.where(scale > 0, vec / torch.where(scale > 0, scale, 1), vec)


def _flat_ricci(second, cometric):
    r""":math:`\mathrm{Ric}_{ik} = \langle \mathrm{II}_{ik}, H \rangle
    - G^{jm} \langle \mathrm{II}_{ij}, \mathrm{II}_{mk} \rangle`."""
    mean = torch.einsum("nij,naij->na", cometric, second)
    first = torch.einsum("naik,na->nik", second, mean)
    second_term = torch.einsum("naij,njm,namk->nik", second, cometric, second)
    ricci = first - second_term
    return 0.5 * (ricci + ricci.transpose(-1, -2))


def ricci_tensor(space, base_point):
    r"""Ricci tensor :math:`\mathrm{Ric}_{ik} = R^j_{ijk}` (Geomstats' convention).

    From the Gauss equation, :math:`\mathrm{Ric}_{ik} = \langle
    \mathrm{II}_{ik}, H \rangle - G^{jm} \langle \mathrm{II}_{ij},
    \mathrm{II}_{mk} \rangle` with :math:`H` the mean curvature vector;
    the 4-tensor is not built.

    Parameters
    ----------
    space : GeneratedManifold or DecoderChart
    base_point : array-like, shape=[..., d]

    Returns
    -------
    ricci_tensor : torch.Tensor, shape=[..., d, d]
    """
    chart = as_chart(space)
    _warn_if_piecewise_linear(chart, "Ricci tensor")

    def kernel(z):
        jac, second = _flat_second_fundamental_form(chart, z)
        return _flat_ricci(second, inverse_metric_from_jacobian(jac))

    return chart.evaluate(kernel, base_point=base_point)


def scalar_curvature(space, base_point):
    r"""Scalar curvature :math:`S = G^{ik} \mathrm{Ric}_{ik} = |H|^2 - |\mathrm{II}|^2`.

    Parameters
    ----------
    space : GeneratedManifold or DecoderChart
    base_point : array-like, shape=[..., d]

    Returns
    -------
    scalar_curvature : torch.Tensor, shape=[...]
    """
    chart = as_chart(space)
    _warn_if_piecewise_linear(chart, "Scalar curvature")

    def kernel(z):
        # Traced Gauss equation, S = |H|^2 - sum_a tr(G^-1 II^a G^-1 II^a),
        # with the mean curvature vector H = G^ij II_ij: O(D d^3) per point.
        jac, second = _flat_second_fundamental_form(chart, z)
        cometric = inverse_metric_from_jacobian(jac)
        n, emb, dim, _ = second.shape
        mean = torch.einsum("nij,naij->na", cometric, second)
        # G^-1 II^a for every output a, as one matmul per point: [n, d, D, d]
        mixed = (cometric @ second.transpose(1, 2).reshape(n, dim, emb * dim)).reshape(
            n, dim, emb, dim
        )
        return (mean**2).sum(-1) - (mixed * mixed.permute(0, 3, 2, 1)).sum(dim=(-1, -2, -3))

    return chart.evaluate(kernel, base_point=base_point)
