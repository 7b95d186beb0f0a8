"""ZeroQ (Cai et al. 2020): quantizers, Distilled Data and the Pareto bit allocation."""

from reprobook.params import ParameterError

# the committed model of record's depth, width and input pixels (``record.DEPTH``, ``WIDTH``,
# ``RESOLUTION``), here so that checking parameters does not import torch
RECORD_SHAPE = (20, 16, 32)


def check_parameters(P) -> None:
    """``low_setting`` is one of ``settings``; each budget has its activation bits and no budget
    comes twice; the model of record keeps its own shape."""
    if P.low_setting not in P.settings:
        raise ParameterError(
            f"{P.notebook}: low_setting {P.low_setting!r} is not one of settings {P.settings};"
            f" e.g. -p low_setting {P.settings[-1]}"
        )
    budgets, act_bits = list(P.mp_budgets), list(P.mp_act_bits)
    if len(act_bits) != len(budgets):
        fill = (act_bits[-1:] or [8]) * len(budgets)
        raise ParameterError(
            f"{P.notebook}: mp_act_bits {act_bits} must give one activation width per budget in"
            f" mp_budgets {budgets}; e.g. -p mp_act_bits '{fill}'"
        )
    if len(set(budgets)) < len(budgets):
        once: dict[int, int] = {}  # {budget: activation bits}, each budget's first pair
        for b, a in zip(budgets, act_bits):
            once.setdefault(b, a)
        raise ParameterError(
            f"{P.notebook}: mp_budgets {budgets} names a budget twice; list each once, with"
            f" its activation width: e.g. -p mp_budgets '{list(once)}'"
            f" -p mp_act_bits '{list(once.values())}'"
        )
    if P.model == "record" and (P.depth, P.width, P.resolution) != RECORD_SHAPE:
        depth, width, resolution = RECORD_SHAPE
        raise ParameterError(
            f"{P.notebook}: model 'record' is a ResNet-{depth} of width {width} at {resolution} px,"
            f" got depth {P.depth}, width {P.width}, resolution {P.resolution}; leave those three"
            " at the preset's values, or pass -p model cifar_resnet to train that network here"
        )
