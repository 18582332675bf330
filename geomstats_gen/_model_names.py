"""The models' command-line names (``geomstats-gen train --model NAME``): one list."""

__all__ = ["MODEL_NAMES"]

#: Command-line name -> class name in :mod:`geomstats_gen.models`.
MODEL_NAMES = {
    "vae": "VAE",
    "beta-vae": "BetaVAE",
    "beta-tcvae": "BetaTCVAE",
    "dip-vae": "DIPVAE",
}
