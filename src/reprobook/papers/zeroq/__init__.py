"""ZeroQ (Cai et al. 2020): quantizers, Distilled Data and the Pareto bit allocation."""
