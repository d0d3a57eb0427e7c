"""Typed configurations; saved inside checkpoints with ``asdict`` so a run can be repeated."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from mnist_desk.core.errors import UserError

OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("none", "step", "cosine", "onecycle")
DEVICES = ("auto", "cuda", "mps", "cpu")
CHECKPOINT_CRITERIA = ("val", "test", "last")


class ConfigError(UserError, ValueError):
    """Training settings that cannot work; still a ``ValueError`` for older callers."""


@dataclass
class TrainConfig:
    model: str = "desknet"
    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-3
    optimizer: str = "adam"
    momentum: float = 0.9
    weight_decay: float = 0.0
    schedule: str = "none"
    step_size: int = 10
    gamma: float = 0.1
    augment: bool = False
    val_split: float = 0.0
    seed: int = 1
    device: str = "auto"
    data: str | None = None
    out: str = "runs/latest"
    train_subset: int | None = None
    test_subset: int | None = None
    select_by: str = "val"
    amp: bool = False
    compile: bool = False
    label_smoothing: float = 0.0
    extra_train: str | None = None
    # How many times the extra digits are repeated per epoch: a handful of the person's own
    # digits needs many copies to count; a large rendered stroke set needs one or two.
    extra_repeat: int = 20
    init_from: str | None = None
    tags: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Fail early with one readable sentence instead of deep inside torch."""
        problems = []
        if self.epochs < 1:
            problems.append("epochs must be at least 1")
        if self.batch_size < 1:
            problems.append("batch size must be at least 1")
        if not self.lr > 0:
            problems.append("learning rate must be positive")
        if self.optimizer not in OPTIMIZERS:
            problems.append(f"optimizer must be one of {', '.join(OPTIMIZERS)}")
        if self.schedule not in SCHEDULES:
            problems.append(f"schedule must be one of {', '.join(SCHEDULES)}")
        if self.device not in DEVICES:
            problems.append(f"device must be one of {', '.join(DEVICES)}")
        if not 0.0 <= self.val_split < 0.5:
            problems.append("validation split must be between 0 and 0.5")
        if self.extra_repeat < 1:
            problems.append("extra-repeat must be at least 1")
        if self.select_by not in CHECKPOINT_CRITERIA:
            problems.append(f"select-by must be one of {', '.join(CHECKPOINT_CRITERIA)}")
        if problems:
            raise ConfigError("Invalid training settings: " + "; ".join(problems) + ".")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """Ignore unknown keys so checkpoints from newer versions still load."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})
