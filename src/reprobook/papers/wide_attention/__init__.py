"""Wide attention (Brown et al. 2022): attention mixers, an encoder, LRA-style tasks."""

from reprobook.params import ParameterError


def check_parameters(P) -> None:
    """Every depth in ``layers`` divides ``total_heads`` (the heads are fixed across aspect ratios)."""
    uneven = [n for n in P.layers if P.total_heads % n]
    if uneven:
        divisors = [n for n in range(1, P.total_heads + 1) if P.total_heads % n == 0]
        raise ParameterError(
            f"{P.notebook}: {', '.join(map(str, uneven))} layers do not divide total_heads"
            f" {P.total_heads} evenly; choose layers among {divisors},"
            f" e.g. -p layers '[{divisors[0]}, {divisors[-1]}]'"
        )
