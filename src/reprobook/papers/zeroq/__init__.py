"""ZeroQ (Cai et al. 2020): quantizers, Distilled Data and the Pareto bit allocation."""

from reprobook.params import ParameterError

# the committed model of record's depth, width and input pixels (``record.DEPTH``, ``WIDTH``,
# ``RESOLUTION``), here so that checking parameters does not import torch
RECORD_SHAPE = (20, 16, 32)


def check_parameters(P) -> None:
    """``low_setting`` is one of ``settings``; the model of record keeps its own shape."""
    if P.low_setting not in P.settings:
        raise ParameterError(
            f"{P.notebook}: low_setting {P.low_setting!r} is not one of settings {P.settings};"
            f" e.g. -p low_setting {P.settings[-1]}"
        )
    if P.model == "record" and (P.depth, P.width, P.resolution) != RECORD_SHAPE:
        depth, width, resolution = RECORD_SHAPE
        raise ParameterError(
            f"{P.notebook}: model 'record' is a ResNet-{depth} of width {width} at {resolution} px,"
            f" got depth {P.depth}, width {P.width}, resolution {P.resolution}; leave those three"
            " at the preset's values, or pass -p model cifar_resnet to train that network here"
        )
