"""Random pruning at initialization (Liu et al. 2022): layer-wise densities and masks."""
