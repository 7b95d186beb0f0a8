"""Training BatchNorm and only BatchNorm (Frankle et al. 2021): trainable-parameter regimes."""

from reprobook.params import ParameterError, load_spec


def check_parameters(P) -> None:
    """A preset that tests the depth trend trains two or more depths; one that declares it not tested
    (``cpu``) may train one."""
    if (
        load_spec(P.notebook).tests("rises with depth", P.preset)
        and len(set(P.depths)) < 2
    ):
        raise ParameterError(
            f"{P.notebook}: depths {P.depths}: the {P.preset} preset tests 'rises with depth', "
            "which needs two or more depths; pass e.g. -p depths '[14, 32]'"
        )
