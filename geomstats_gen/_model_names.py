"""The models' command-line names (``geomstats-gen train --model NAME``): one list."""

__all__ = ["METRIC_NAMES", "MODEL_NAMES"]

#: Command-line name -> class name in :mod:`geomstats_gen.models`.
MODEL_NAMES = {
    "vae": "VAE",
    "beta-vae": "BetaVAE",
    "beta-tcvae": "BetaTCVAE",
    "dip-vae": "DIPVAE",
}

#: The latent metrics of a fitted model (``model.manifold(metric)``,
#: ``geomstats-gen analyze --metric NAME``).
METRIC_NAMES = ("pullback", "expected", "fisher-rao", "ensemble")
