"""Configuration of bottleneck adapters (series, AdapterH, AdapterP, parallel, scaled parallel).

One adapter computes s·up(f(down(x))) and is added to a module's output ('after': x is that
output, the series adapter; 'beside': x is the module's input, the parallel adapter) or to its
input ('before'). The config records the resolved insertion sites, so a saved adapter can be
put back on the same architecture without resolving placement words again.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from ...errors import ConfigError

PEFT_TYPE = "BOTTLENECK"  # the adapter_config.json marker that tells our folders from peft's
FORMAT_VERSION = 1
ACTIVATIONS = (
    "tanh",
    "relu",
    "gelu",
    "gelu_new",
    "silu",
    "swish",
    "sigmoid",
    "leaky_relu",
    "identity",
)
INITS = ("zero", "random", "bert")
POSITIONS = ("before", "after", "beside")


def _help(text: str, default: Any = dataclasses.MISSING, factory: Any = dataclasses.MISSING) -> Any:
    if factory is not dataclasses.MISSING:
        return field(default_factory=factory, metadata={"help": text})
    return field(default=default, metadata={"help": text})


@dataclass
class BottleneckSite:
    module: str = _help("full path of the module the adapter wraps")
    position: str = _help("before | after | beside the module", "after")
    input: str | None = _help(
        "for 'beside': the module whose input feeds the adapter when it is not `module` "
        "(OPT's MLP enters at fc1 and leaves at fc2)",
        None,
    )
    in_features: int = _help("width of the adapter's input", 0)
    out_features: int = _help("width of the adapter's output", 0)

    def __post_init__(self) -> None:
        if self.position not in POSITIONS:
            raise ConfigError(
                f"site position {self.position!r} must be one of {', '.join(POSITIONS)}"
            )
        if self.in_features <= 0 or self.out_features <= 0:
            raise ConfigError(f"site {self.module} needs positive widths")
        if self.input is not None and self.position != "beside":
            raise ConfigError(
                f"site {self.module}: only a 'beside' adapter reads another module's input"
            )


@dataclass
class BottleneckConfig:
    method: str = _help(
        "studio method: series, adapterh, adapterp, parallel or scaled_parallel", "series"
    )
    bottleneck_size: int = _help("width of the bottleneck (the paper's best: 256)", 256)
    non_linearity: str = _help(
        f"activation between the projections: {', '.join(ACTIVATIONS)}", "tanh"
    )
    dropout: float = _help("dropout on the adapter's input while training", 0.0)
    scaling: float | str = _help(
        "s in x + s·up(f(down(x))): a number, or 'learned' for a trainable scalar starting at 1",
        1.0,
    )
    init: str = _help(
        "'zero': up-projection starts at zero so training starts from the base model; "
        "'random': both projections Kaiming-uniform (the adapter changes outputs from step 0); "
        "'bert': both projections from N(0, 0.02), biases zero (the LLM-Adapters code's)",
        "zero",
    )
    bias: bool = _help(
        "whether the projections have biases (the LLM-Adapters code's have none)", True
    )
    sites: list[BottleneckSite] = _help(
        "where the adapters sit (filled in at injection)", factory=list
    )
    placement: dict[str, Any] | None = _help("the placement as the job asked for it", None)
    family: str | None = _help("model family the sites were resolved for", None)
    base_model_name_or_path: str | None = _help("base model the adapter was trained on", None)
    peft_type: str = _help(
        "always BOTTLENECK: marks the folder as an Adapter Studio adapter", PEFT_TYPE
    )
    task_type: str = _help("always CAUSAL_LM", "CAUSAL_LM")
    format_version: int = _help("adapter folder format", FORMAT_VERSION)

    def __post_init__(self) -> None:
        if isinstance(self.bottleneck_size, bool) or not isinstance(self.bottleneck_size, int):
            raise ConfigError(f"bottleneck_size must be an integer, got {self.bottleneck_size!r}")
        if self.bottleneck_size < 1:
            raise ConfigError(f"bottleneck_size must be at least 1, got {self.bottleneck_size}")
        if self.non_linearity not in ACTIVATIONS:
            raise ConfigError(
                f"non_linearity {self.non_linearity!r} is not known; "
                f"choose one of {', '.join(ACTIVATIONS)}"
            )
        if isinstance(self.dropout, bool) or not isinstance(self.dropout, int | float):
            raise ConfigError(f"dropout must be a number, got {self.dropout!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"dropout must be in [0, 1), got {self.dropout}")
        if isinstance(self.scaling, str):
            if self.scaling != "learned":
                raise ConfigError(f"scaling must be a number or 'learned', got {self.scaling!r}")
        elif isinstance(self.scaling, bool) or not isinstance(self.scaling, int | float):
            raise ConfigError(f"scaling must be a number or 'learned', got {self.scaling!r}")
        else:
            self.scaling = float(self.scaling)
        if not isinstance(self.bias, bool):
            raise ConfigError(f"bias must be true or false, got {self.bias!r}")
        if self.init not in INITS:
            raise ConfigError(f"init {self.init!r} is not known; choose one of {', '.join(INITS)}")
        if self.peft_type != PEFT_TYPE:
            raise ConfigError(f"not a bottleneck adapter config (peft_type {self.peft_type!r})")
        self.sites = [
            s if isinstance(s, BottleneckSite) else BottleneckSite(**s) for s in self.sites
        ]

    @property
    def learned_scaling(self) -> bool:
        return self.scaling == "learned"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BottleneckConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(
                f"adapter_config.json has unknown keys {', '.join(unknown)} "
                "(written by a newer studio?)"
            )
        return cls(**data)


# Studio params each bottleneck method accepts: every field a person may set.
USER_FIELDS = ("bottleneck_size", "non_linearity", "dropout", "scaling", "init", "bias")


def field_help(name: str) -> str:
    return next(f.metadata["help"] for f in dataclasses.fields(BottleneckConfig) if f.name == name)
