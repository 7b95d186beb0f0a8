import ast
import json
import shlex
from pathlib import Path

import pytest

from reprobook import params
from reprobook.params import ParameterError

REPO = Path(__file__).resolve().parents[1]
NB = "residual_expansion"


def parameters_cell(name: str) -> dict:
    """The defaults assigned in a notebook's `parameters`-tagged cell."""
    nb = json.loads((REPO / "notebooks" / f"{name}.ipynb").read_text())
    cells = [
        c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])
    ]
    assert len(cells) == 1, f"{name} must have exactly one cell tagged 'parameters'"
    tree = ast.parse("".join(cells[0]["source"]))
    return {
        node.targets[0].id: ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign)
    }


@pytest.mark.parametrize("name", params.notebooks())
def test_the_parameters_cell_names_every_parameter_and_leaves_it_to_the_preset(name):
    defaults = parameters_cell(name)
    assert defaults.pop("preset") == "cpu"
    assert set(defaults) == set(params.load_spec(name).parameters)
    assert all(v is None for v in defaults.values())  # None: the preset's value


def test_a_value_typed_into_the_parameters_cell_is_honoured_even_when_it_equals_cpu():
    """preset = "full"; seeds = 3 (the cpu value, typed by hand) runs full with 3 seeds."""
    spec = params.load_spec("residual_expansion")
    typed = {name: None for name in spec.parameters} | {
        "preset": "full",
        "seeds": 3,
        "In": [],
    }
    P = params.from_namespace("residual_expansion", typed)
    assert P.seeds == 3 and spec.preset("full")["seeds"] != 3
    assert (
        P.train_blocks == spec.preset("full")["train_blocks"]
    )  # left at None: the preset's


@pytest.mark.parametrize("name", params.notebooks())
def test_every_notebook_has_a_spec_and_every_preset_is_complete(name):
    spec = params.load_spec(
        name
    )  # raises if a preset misses or adds a parameter, or has a bad value
    assert set(spec.presets) == set(params.PRESETS)
    assert (REPO / "notebooks" / f"{name}.ipynb").is_file()


def test_resolve_takes_the_preset_then_explicit_values():
    smoke = params.resolve(NB, "smoke")
    assert (
        smoke["preset"] == "smoke"
        and smoke["seeds"] == params.load_spec(NB).preset("smoke")["seeds"]
    )
    assert params.resolve(NB, "smoke", {"seeds": 5, "train_lr": 1})["seeds"] == 5
    assert isinstance(
        params.resolve(NB, "smoke", {"train_lr": 1})["train_lr"], float
    )  # int widened


@pytest.mark.parametrize(
    "preset, overrides, message",
    [
        ("huge", {}, "unknown preset 'huge'; choose one of smoke, cpu, gpu, full"),
        ("smoke", {"sedes": 3}, "unknown parameter 'sedes'; did you mean 'seeds'?"),
        ("smoke", {"zzz": 3}, "unknown parameter 'zzz'. Known parameters: preset, "),
        (
            "smoke",
            {"seeds": "3"},
            "parameter 'seeds' must be int, got '3' (str); e.g. -p seeds 3",
        ),
        ("smoke", {"seeds": 2.5}, "parameter 'seeds' must be int"),
        (
            "smoke",
            {"train_lr": True},
            "parameter 'train_lr' must be float, got True (bool)",
        ),
        ("smoke", {"seeds": 0}, "parameter 'seeds' must be >= 2, got 0"),
        ("smoke", {"seeds": 1000}, "parameter 'seeds' must be <= 20, got 1000"),
        ("smoke", {"seeds": True}, "parameter 'seeds' must be int, got True (bool)"),
        # YAML's .nan (-p train_lr .nan) is a float that no min or max refuses
        ("smoke", {"train_lr": float("nan")}, "'train_lr' must be a finite number"),
        (
            "smoke",
            {"truncation_lambdas": [0.1, float("inf")]},
            "must be a finite number",
        ),
        (
            "smoke",
            {"growth_depths": []},
            "parameter 'growth_depths' must be a non-empty list[int]",
        ),
        (
            "smoke",
            {"growth_depths": 4},
            "parameter 'growth_depths' must be a non-empty list[int]",
        ),
        (
            "smoke",
            {"grid_datasets": ["mnist", "imagenet"]},
            "parameter 'grid_datasets'[1] must be one of",
        ),
        (
            "smoke",
            {"train_dataset": "svhn"},
            "parameter 'train_dataset' must be one of ['mnist', 'cifar10']",
        ),
    ],
)
def test_bad_parameters_name_the_problem_and_the_fix(preset, overrides, message):
    with pytest.raises(ParameterError) as err:
        params.resolve(NB, preset, overrides)
    assert message in str(err.value)


def test_unknown_notebook():
    with pytest.raises(ParameterError, match="unknown notebook 'nope'"):
        params.load_spec("nope")


def test_injected_names_come_from_papermills_cell():
    history = ["import x", '# Parameters\npreset = "smoke"\nseeds = 3\n', "P = start()"]
    assert params.injected_names(history) == {"preset", "seeds"}
    assert params.injected_names(["a = 1"]) == set()


def test_from_namespace_explicit_values_win_over_the_preset():
    namespace = {name: None for name in params.load_spec(NB).parameters} | {
        "preset": "smoke"
    }
    smoke = params.load_spec(NB).preset("smoke")
    # nothing typed: everything comes from the smoke preset
    assert params.from_namespace(NB, namespace) == {"preset": "smoke", **smoke}
    # a value injected by papermill wins even when it equals the cpu default
    namespace["seeds"] = 3
    namespace["In"] = ["# Parameters\npreset = 'smoke'\nseeds = 3\n"]
    assert params.from_namespace(NB, namespace)["seeds"] == 3
    # a value typed by hand wins too
    namespace["batch_size"] = 7
    assert params.from_namespace(NB, namespace)["batch_size"] == 7


def test_from_namespace_rejects_an_unknown_injected_parameter():
    namespace = dict(
        params.load_spec(NB).preset("cpu"),
        preset="cpu",
        sedes=2,
        In=["# Parameters\nsedes = 2\n"],
    )
    with pytest.raises(ParameterError, match="unknown parameter 'sedes'"):
        params.from_namespace(NB, namespace)


def test_parse_cli_value():
    assert params.parse_cli_value("3") == 3 and params.parse_cli_value("0.1") == 0.1
    assert (
        params.parse_cli_value("[1, 2]") == [1, 2]
        and params.parse_cli_value("true") is True
    )
    assert params.parse_cli_value("mnist") == "mnist"


# --- declarative rules in the spec --------------------------------------------------------------

RULES = params.Spec(
    "nb",
    {
        "depths": {"type": "list[int]", "min": 8, "form": "6n+2", "distinct": 2},
        "regimes": {"type": "list[str]", "includes": ["all", "bn"]},
        "setting": {"type": "str", "pattern": "W[0-9]+A[0-9]+"},
        "dataset": {"type": "str"},
        "tasks": {"type": "list[str]"},
    },
    {},
    ["dataset", {"name": "cifar10", "when": {"tasks": "image"}}],
)


@pytest.mark.parametrize(
    "name, value, message",
    [
        (
            "depths",
            [8, 15],
            r"depths'\[1\] must be of the form 6n\+2, got 15; e.g. 8, 14, 20, 32",
        ),
        ("depths", [8, 8], "at least 2 different values"),
        ("regimes", ["all"], r"must include \['all', 'bn'\].*missing \['bn'\]"),
        ("setting", "W4", "must match"),
    ],
)
def test_spec_rules_fail_with_one_line_that_names_the_rule(name, value, message):
    with pytest.raises(ParameterError, match=message):
        params.check_value(RULES, name, value)


def test_spec_rules_accept_what_they_describe():
    assert params.check_value(RULES, "depths", [8, 14, 20]) == [8, 14, 20]
    assert params.check_value(RULES, "regimes", ["bn", "all", "output"])
    assert params.check_value(RULES, "setting", "W4A8") == "W4A8"


@pytest.mark.parametrize(
    "notebook, preset, overrides, message",
    [
        (
            "random_pruning",
            "cpu",
            {"depths": [8]},
            r"same length, 2 or more, got 1 and 3",
        ),
        ("random_pruning", "cpu", {"widths": [4, 8]}, r"got 3 and 2; e.g. -p depths"),
        (
            "residual_expansion",
            "gpu",
            {"train_blocks": [4, 6]},
            r"multiples of 3, got \[4, 6\]",
        ),
        (
            "wide_attention",
            "cpu",
            {"layers": [1, 3]},
            r"3 layers do not divide total_heads 8",
        ),
        (
            "wide_attention",
            "cpu",
            {"total_heads": 6},
            r"4 layers do not divide .* e.g. -p layers '\[1, 6\]'",
        ),
        (
            "zeroq",
            "cpu",
            {"low_setting": "W2A2"},
            r"low_setting 'W2A2' is not one of settings",
        ),
        ("zeroq", "cpu", {"depth": 8}, r"model 'record' is a ResNet-20 .* got depth 8"),
        (
            "zeroq",
            "cpu",
            {"mp_act_bits": [6]},
            r"one activation width per budget in mp_budgets \[4, 3\]; "
            r"e.g. -p mp_act_bits '\[6, 6\]'$",
        ),
        ("zeroq", "full", {"mp_budgets": [4, 3, 2]}, r"mp_act_bits \[6, 8\] must give"),
        (
            "zeroq",
            "cpu",
            {"mp_budgets": [3, 4, 3], "mp_act_bits": [8, 8, 4]},
            r"names a budget twice; .* e.g. -p mp_budgets '\[3, 4\]' -p mp_act_bits '\[8, 8\]'$",
        ),
    ],
)
def test_parameters_that_must_agree_fail_when_resolved(
    notebook, preset, overrides, message
):
    """The rules between parameters (check_parameters of each paper) run wherever parameters are
    resolved: in the notebook's first cell and in reprobook run's check before any notebook starts."""
    with pytest.raises(ParameterError, match=f"^{notebook}: .*{message}"):
        params.resolve(notebook, preset, overrides)


def test_parameters_that_agree_pass_their_papers_rules():
    assert params.resolve(
        "residual_expansion", "cpu", {"train_blocks": [4, 6]}
    )  # an MLP
    assert params.resolve("zeroq", "cpu", {"model": "cifar_resnet", "depth": 8})
    assert params.resolve("zeroq", "cpu", {"mp_budgets": [3, 4], "mp_act_bits": [8, 8]})
    assert params.resolve("wide_attention", "cpu", {"total_heads": 4, "layers": [1, 4]})


def test_needed_datasets_follow_the_parameters():
    assert RULES.needed_datasets({"dataset": "mnist", "tasks": ["listops"]}) == [
        "mnist"
    ]
    assert RULES.needed_datasets({"dataset": "mnist", "tasks": ["image"]}) == [
        "cifar10",
        "mnist",
    ]


@pytest.mark.parametrize("name", params.notebooks())
def test_no_preset_can_judge_from_a_single_seed(name):
    """An interval built from the spread of replicates needs two of them: seed counts start at 2."""
    spec = params.load_spec(name)
    for param, p in spec.parameters.items():
        if param.endswith("seeds"):
            assert p.get("min", 0) >= 2, f"{name}: {param} must have min: 2"
            with pytest.raises(ParameterError, match=f"'{param}' must be >= 2"):
                params.resolve(name, "smoke", {param: 1})


def test_a_form_counts_from_n_1():
    """6n+2 is 8, 14, 20, ...: not 2 (n = 0), whatever the parameter's min says."""
    assert [v for v in range(0, 21) if params._has_form(v, "6n+2")] == [8, 14, 20]


@pytest.mark.parametrize("notebook", params.notebooks())
def test_every_example_an_error_gives_is_accepted_as_typed(notebook):
    spec = params.load_spec(notebook)
    for name in spec.parameters:
        text = shlex.split(params._cli_example(spec, name))[
            0
        ]  # what the shell passes on
        params.check_value(spec, name, params.parse_cli_value(text))


@pytest.mark.parametrize(
    "overrides, example",
    [
        ({"settings": "W9A9"}, "e.g. -p settings '[W8A8, W6A6, W4A8, W4A4]'"),
        ({"settings": ["W9"]}, "e.g. -p settings '[W8A8, W6A6, W4A8, W4A4]'"),
        ({"mp_bits": [4, "x"]}, "e.g. -p mp_bits '[2, 3, 4, 6, 8]'"),
        ({"low_setting": 4}, "e.g. -p low_setting W4A4"),
        ({"seeds": "two"}, "e.g. -p seeds 2"),
    ],
)
def test_a_bad_value_is_answered_with_a_valid_one_of_its_kind(overrides, example):
    with pytest.raises(ParameterError) as err:
        params.resolve("zeroq", "cpu", overrides)
    assert str(err.value).endswith(example)
