"""Training BatchNorm and only BatchNorm (Frankle et al. 2021): trainable-parameter regimes."""
