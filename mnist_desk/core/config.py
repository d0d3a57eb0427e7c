"""Typed configurations; saved inside checkpoints with ``asdict`` so a run can be repeated.

``TrainConfig`` is the one source of the training options: each field's ``metadata`` gives the
help text (and choices, and the CLI flag where it differs from the field name), and
``mnist-desk train`` builds its options from it, so a new field is a new option.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from mnist_desk.core.errors import UserError

OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("none", "step", "cosine", "onecycle")
DEVICES = ("auto", "cuda", "mps", "cpu")
CHECKPOINT_CRITERIA = ("val", "test", "last")


_LABELS = {"lr": "learning rate"}
# Far beyond any useful MNIST run; a typo like 10**12 would otherwise train "forever".
MAX_EPOCHS = 10_000


class ConfigError(UserError, ValueError):
    """Bad training settings; a ``ValueError`` too, for callers that catch that."""


def option(default: Any, help: str, **extra: Any) -> Any:
    """A field with its CLI/form description (``choices``, ``flag``, ``metavar``)."""
    if isinstance(default, dict):
        return field(default_factory=dict, metadata={"help": help, **extra})
    return field(default=default, metadata={"help": help, **extra})


@dataclass
class TrainConfig:
    model: str = option("desknet", "model name (see --list-models)", flag="--arch")
    epochs: int = option(10, "number of passes over the training digits")
    batch_size: int = option(128, "digits per training step")
    lr: float = option(1e-3, "learning rate (peak rate for onecycle)")
    optimizer: str = option("adam", "optimizer", choices=OPTIMIZERS)
    momentum: float = option(0.9, "SGD momentum")
    weight_decay: float = option(0.0, "weight decay (L2 for sgd/adam, decoupled for adamw)")
    schedule: str = option("none", "learning-rate schedule", choices=SCHEDULES)
    step_size: int = option(10, "epochs between learning-rate drops (step schedule)")
    gamma: float = option(0.1, "factor of each learning-rate drop (step schedule)")
    augment: bool = option(False, "random affine + stroke thickness")
    val_split: float = option(0.0, "fraction of the training digits held out for validation")
    seed: int = option(1, "seed for weights, data order and augmentation")
    device: str = option("auto", "where to train", choices=DEVICES)
    data: str | None = option(
        None, "MNIST root (torchvision layout); default: $MNIST_DESK_DATA, else the user cache"
    )
    out: str = option(
        "runs/latest",
        "run folder (best.pt, last.pt, history); default: a new runs/<model>-<time>",
        metavar="DIR",
    )
    train_subset: int | None = option(None, "use only the first N training digits", metavar="N")
    test_subset: int | None = option(None, "use only the first N test digits", metavar="N")
    select_by: str = option(
        "val", "which epoch's weights become best.pt", choices=CHECKPOINT_CRITERIA
    )
    amp: bool = option(False, "bf16 autocast on CUDA")
    compile: bool = option(False, "torch.compile on CUDA")
    label_smoothing: float = option(0.0, "label smoothing of the cross-entropy loss (0 to <1)")
    extra_train: str | None = option(
        None, ".npz with extra 'images' (uint8 Nx28x28) and 'labels'", metavar="NPZ"
    )
    # How many times the extra digits are repeated per epoch: a handful of the person's own
    # digits needs many copies to count; a large rendered stroke set needs one or two.
    extra_repeat: int = option(20, "copies of the extra digits per epoch")
    init_from: str | None = option(None, "fine-tune from this checkpoint", metavar="CHECKPOINT")
    tags: dict[str, Any] = option(
        {}, "free-form KEY=VALUE label kept with the run (repeatable)", flag="--tag"
    )
    keep_epochs: bool = option(
        False, "also keep every epoch's weights in epochs/ (for the training timeline)"
    )

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Fail early with one readable sentence instead of deep inside torch."""
        problems = [
            f"{_LABELS.get(f.name, f.name.replace('_', ' '))} must be a finite number"
            for f in fields(self)
            if isinstance(getattr(self, f.name), float) and not math.isfinite(getattr(self, f.name))
        ]
        if problems:
            raise ConfigError("Invalid training settings: " + "; ".join(problems) + ".")
        if self.epochs < 1:
            problems.append("epochs must be at least 1")
        elif self.epochs > MAX_EPOCHS:
            problems.append(f"epochs must be at most {MAX_EPOCHS:,}")
        if self.batch_size < 1:
            problems.append("batch size must be at least 1")
        if not self.lr > 0:
            problems.append("learning rate must be positive")
        if self.optimizer not in OPTIMIZERS:
            problems.append(f"optimizer must be one of {', '.join(OPTIMIZERS)}")
        if self.momentum < 0:
            problems.append("momentum must not be negative")
        if self.weight_decay < 0:
            problems.append("weight decay must not be negative")
        if self.schedule not in SCHEDULES:
            problems.append(f"schedule must be one of {', '.join(SCHEDULES)}")
        if self.step_size < 1:
            problems.append("step size must be at least 1 epoch")
        if not self.gamma > 0:
            problems.append("gamma must be positive")
        if self.device not in DEVICES:
            problems.append(f"device must be one of {', '.join(DEVICES)}")
        if not 0.0 <= self.val_split < 0.5:
            problems.append("validation split must be between 0 and 0.5")
        for name in ("train_subset", "test_subset"):
            value = getattr(self, name)
            if value is not None and value < 1:
                problems.append(f"{name.replace('_', ' ')} must be at least 1 digit when given")
        if self.extra_repeat < 1:
            problems.append("extra-repeat must be at least 1")
        if not 0.0 <= self.label_smoothing < 1.0:
            problems.append("label smoothing must be at least 0 and below 1")
        if self.select_by not in CHECKPOINT_CRITERIA:
            problems.append(f"select-by must be one of {', '.join(CHECKPOINT_CRITERIA)}")
        if not str(self.out).strip():
            problems.append("the output folder must not be empty")
        if problems:
            raise ConfigError("Invalid training settings: " + "; ".join(problems) + ".")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """Ignore unknown keys so checkpoints from newer versions still load."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})
