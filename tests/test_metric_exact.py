"""The pullback metric against closed forms (linear map, sphere, torus)."""

import math

import pytest
import torch
from conftest import F64, sphere_points

from geomstats_gen import GeneratedManifold, SphereChart


def test_linear_metric_is_gram_matrix(linear_space, linear_matrix):
    z = torch.randn(7, 3, dtype=F64, generator=torch.Generator().manual_seed(0))
    gram = linear_matrix.T @ linear_matrix
    torch.testing.assert_close(
        linear_space.metric.metric_matrix(z), gram.expand(7, 3, 3), atol=1e-12, rtol=0
    )
    torch.testing.assert_close(
        linear_space.metric.cometric_matrix(z),
        torch.linalg.inv(gram).expand(7, 3, 3),
        atol=1e-10,
        rtol=0,
    )


def test_linear_christoffels_and_geodesic_equation_vanish(linear_space):
    gen = torch.Generator().manual_seed(1)
    z = torch.randn(4, 3, dtype=F64, generator=gen)
    v = torch.randn(4, 3, dtype=F64, generator=gen)
    assert linear_space.metric.christoffels(z).abs().max() < 1e-12
    out = linear_space.metric.geodesic_equation(torch.stack([z, v], dim=-2))
    torch.testing.assert_close(out[:, 0], v, atol=0, rtol=0)
    assert out[:, 1].abs().max() < 1e-12
    assert linear_space.hessian_immersion(z).abs().max() < 1e-12


def test_linear_inner_product_and_norm(linear_space, linear_matrix):
    gen = torch.Generator().manual_seed(2)
    z, a, b = (torch.randn(6, 3, dtype=F64, generator=gen) for _ in range(3))
    expected = ((a @ linear_matrix.T) * (b @ linear_matrix.T)).sum(-1)
    metric = linear_space.metric
    torch.testing.assert_close(metric.inner_product(a, b, z), expected, atol=1e-12, rtol=0)
    sq = ((a @ linear_matrix.T) ** 2).sum(-1)
    torch.testing.assert_close(metric.squared_norm(a, z), sq, atol=1e-12, rtol=0)
    torch.testing.assert_close(metric.norm(a, z), sq.sqrt(), atol=1e-12, rtol=0)
    torch.testing.assert_close(
        linear_space.jacobian_immersion(z), linear_matrix.expand(6, 5, 3), atol=1e-14, rtol=0
    )


def test_sphere_metric_and_cometric(sphere_space):
    z = sphere_points(20)
    theta = z[:, 0]
    r2 = 4.0
    expected = torch.zeros(20, 2, 2, dtype=F64)
    expected[:, 0, 0] = r2
    expected[:, 1, 1] = r2 * torch.sin(theta) ** 2
    torch.testing.assert_close(
        sphere_space.metric.metric_matrix(z), expected, atol=1e-10, rtol=0
    )
    torch.testing.assert_close(
        sphere_space.metric.cometric_matrix(z),
        torch.linalg.inv(expected),
        atol=1e-10,
        rtol=1e-10,
    )


def test_sphere_christoffels(sphere_space):
    z = sphere_points(20, seed=4)
    theta = z[:, 0]
    expected = torch.zeros(20, 2, 2, 2, dtype=F64)
    expected[:, 0, 1, 1] = -torch.sin(theta) * torch.cos(theta)
    expected[:, 1, 0, 1] = torch.cos(theta) / torch.sin(theta)
    expected[:, 1, 1, 0] = torch.cos(theta) / torch.sin(theta)
    torch.testing.assert_close(
        sphere_space.metric.christoffels(z), expected, atol=1e-10, rtol=0
    )


def test_sphere_geodesic_equation(sphere_space):
    z = sphere_points(10, seed=5)
    v = torch.randn(10, 2, dtype=F64, generator=torch.Generator().manual_seed(6))
    theta = z[:, 0]
    acc = torch.stack(
        [
            torch.sin(theta) * torch.cos(theta) * v[:, 1] ** 2,
            -2 * torch.cos(theta) / torch.sin(theta) * v[:, 0] * v[:, 1],
        ],
        dim=-1,
    )
    out = sphere_space.metric.geodesic_equation(torch.stack([z, v], dim=-2))
    torch.testing.assert_close(out[:, 1], acc, atol=1e-10, rtol=0)
    torch.testing.assert_close(out[:, 0], v, atol=0, rtol=0)


def test_torus_metric_and_christoffels(torus_space):
    gen = torch.Generator().manual_seed(7)
    z = (torch.rand(15, 2, dtype=F64, generator=gen) * 2 - 1) * math.pi
    v_ang = z[:, 1]
    ring = 2.0 + torch.cos(v_ang)
    expected = torch.zeros(15, 2, 2, dtype=F64)
    expected[:, 0, 0] = ring**2
    expected[:, 1, 1] = 1.0
    torch.testing.assert_close(
        torus_space.metric.metric_matrix(z), expected, atol=1e-10, rtol=0
    )
    gamma = torch.zeros(15, 2, 2, 2, dtype=F64)
    gamma[:, 0, 0, 1] = -torch.sin(v_ang) / ring
    gamma[:, 0, 1, 0] = -torch.sin(v_ang) / ring
    gamma[:, 1, 0, 0] = ring * torch.sin(v_ang)
    torch.testing.assert_close(
        torus_space.metric.christoffels(z), gamma, atol=1e-10, rtol=0
    )


def test_inner_product_derivative_matrix_sphere(sphere_space):
    z = sphere_points(5, seed=8)
    theta = z[:, 0]
    expected = torch.zeros(5, 2, 2, 2, dtype=F64)
    # d_theta g_phiphi = 2 r^2 sin cos, derivation index last
    expected[:, 1, 1, 0] = 2 * 4.0 * torch.sin(theta) * torch.cos(theta)
    torch.testing.assert_close(
        sphere_space.metric.inner_product_derivative_matrix(z), expected, atol=1e-10, rtol=0
    )


@pytest.mark.parametrize("radius", [0.5, 3.0])
def test_sphere_norm_of_coordinate_vectors(radius):
    space = GeneratedManifold(SphereChart(radius), 2)
    z = sphere_points(8, seed=9)
    e_phi = torch.tensor([0.0, 1.0], dtype=F64)
    torch.testing.assert_close(
        space.metric.norm(e_phi, z), radius * torch.sin(z[:, 0]), atol=1e-12, rtol=0
    )
