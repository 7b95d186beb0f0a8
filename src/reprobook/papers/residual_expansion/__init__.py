"""The residual expansion (Dherin & Munn 2025): paths, truncations, signal growth."""

from reprobook.params import ParameterError


def check_parameters(P) -> None:
    """A CIFAR ResNet's residual blocks split evenly into its three stages."""
    if P.train_model == "resnet" and any(b % 3 for b in P.train_blocks):
        raise ParameterError(
            f"{P.notebook}: a CIFAR ResNet has 3 stages of n blocks: train_blocks must be multiples"
            f" of 3, got {P.train_blocks}; e.g. -p train_blocks '[3, 9]'"
        )
