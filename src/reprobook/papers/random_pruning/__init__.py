"""Random pruning at initialization (Liu et al. 2022): layer-wise densities and masks."""

from reprobook.params import ParameterError


def check_parameters(P) -> None:
    """``depths`` and ``widths`` pair up into a family of at least two nets."""
    if len(P.depths) != len(P.widths) or len(P.depths) < 2:
        raise ParameterError(
            f"{P.notebook}: depths and widths pair up into a family of at least two nets: the same "
            f"length, 2 or more, got {len(P.depths)} and {len(P.widths)};"
            " e.g. -p depths '[8, 8]' -p widths '[4, 8]'"
        )
