"""scikit-learn's estimator checks on the geodesic estimators.

The estimators run on the latent space of a linear decoder (cheap, exact
geodesics; the log solver is set to its coarsest, still exact, setting
because the checks run hundreds of fits). A manifold has a fixed latent
dimension, the decoder's input size, while scikit-learn's checks feed data
of many widths (1, 2, 3, 4, 5 and 10 features). Each estimator is therefore
checked on a 2-D and on a 3-D latent space: every check that feeds another
width than the manifold's is an expected failure with that reason (the
estimator raises a ValueError naming the expected width), and each such
check runs on the other manifold unless its width is neither 2 nor 3.

The expected failures are asserted here rather than marked ``xfail``: the
test checks that they fail, and for the reason given (the width error or
the hash comparison below). This is also much faster than pytest's xfail
reports, which parse scikit-learn's large checks module once per failure.
"""

import functools

import pytest

import geomstats_gen  # noqa: F401  (selects the pytorch backend first)
import torch
from sklearn.utils.estimator_checks import parametrize_with_checks

from geomstats_gen import GeneratedManifold, LinearDecoder
from geomstats_gen.learning import (
    GeodesicDistanceTransformer,
    GeodesicKMedoids,
    GeodesicKNeighborsClassifier,
    LatentLogMap,
)

#: Number of features each check feeds, for the checks whose width is not
#: the manifold's latent dimension in one of the two settings.
WIDTH_FED = {
    "check_fit2d_1feature": 1,
    "check_estimators_overwrite_params": 2,
    "check_estimators_fit_returns_self": 2,
    "check_readonly_memmap_input": 2,
    "check_fit_idempotent": 2,
    "check_fit_check_is_fitted": 2,
    "check_n_features_in": 2,
    "check_classifier_data_not_an_array": 2,
    "check_classifiers_classes": 2,
    "check_classifiers_train": 2,
    "check_clustering": 2,
    "check_fit_score_takes_y": 3,
    "check_dont_overwrite_parameters": 3,
    "check_pipeline_consistency": 3,
    "check_estimators_nan_inf": 3,
    "check_estimators_pickle": 3,
    "check_f_contiguous_array_estimator": 3,
    "check_transformer_data_not_an_array": 3,
    "check_transformer_general": 3,
    "check_transformer_preserve_dtypes": 3,
    "check_transformer_n_iter": 3,
    "check_methods_sample_order_invariance": 3,
    "check_methods_subset_invariance": 3,
    "check_dict_unchanged": 3,
    "check_fit2d_predict1d": 3,
    "check_classifiers_one_label": 3,
    "check_supervised_y_2d": 3,
    "check_n_features_in_after_fitting": 4,
    "check_positive_only_tag_during_fit": 4,
    "check_estimators_dtypes": 5,
    "check_dtype_object": 10,
    "check_fit2d_1sample": 10,
}

HASH_REASON = (
    "joblib.hash of a torch tensor differs from the hash of its deep copy, and "
    "this check compares `space` with a deep copy of it: it reports a change "
    "where there is none (test_learning.py::test_fit_leaves_space_unchanged "
    "checks the decoder's weights directly)"
)


def _space(dim):
    gen = torch.Generator().manual_seed(0)
    matrix = torch.randn(dim + 2, dim, generator=gen, dtype=torch.float64)
    space = GeneratedManifold(LinearDecoder(matrix), dim)
    # geodesics of a linear decoder are straight: the coarsest path is exact
    space.metric.log_solver.n_nodes = 2
    space.metric.log_solver.extrapolate = False
    return space


def _expected_failures(dim):
    failures = {
        name: (
            f"feeds X with {width} feature(s); a manifold of latent dimension {dim} "
            f"accepts only {dim} (ValueError naming the width)"
        )
        for name, width in WIDTH_FED.items()
        if width != dim
    }
    if dim == 2:
        failures["check_estimators_overwrite_params"] = HASH_REASON
    return failures


#: Checks that do nothing for an estimator (so cannot fail): no ``max_iter``.
NOT_APPLICABLE = {"GeodesicDistanceTransformer": {"check_transformer_n_iter"}}


def _estimators(dim):
    space = _space(dim)
    return [
        LatentLogMap(space),
        GeodesicKNeighborsClassifier(space, n_neighbors=3),
        GeodesicKMedoids(space, n_clusters=2, random_state=0),
        GeodesicDistanceTransformer(space),
    ]


_EXPECTED = {2: _expected_failures(2), 3: _expected_failures(3)}


def expected_failed_checks(estimator):
    """Checks expected to fail on ``estimator``, with the reason."""
    skip = NOT_APPLICABLE.get(type(estimator).__name__, set())
    return {
        name: reason
        for name, reason in _EXPECTED[estimator.space.latent_dim].items()
        if name not in skip
    }


def _check_name(check):
    while isinstance(check, functools.partial):
        check = check.func
    return check.__name__


def _chain(err):
    messages = []
    while err is not None:
        messages.append(str(err))
        err = err.__cause__ or err.__context__
    return " | ".join(messages)


@parametrize_with_checks(_estimators(2) + _estimators(3))
def test_sklearn_compatible(estimator, check):
    reason = expected_failed_checks(estimator).get(_check_name(check))
    if reason is None:
        check(estimator)
        return
    with pytest.raises((ValueError, AssertionError)) as info:
        check(estimator)
    message = _chain(info.value)
    if reason is HASH_REASON:
        assert "should not change or mutate" in message
    else:
        assert "the latent dimension of `space`), got" in message, message
