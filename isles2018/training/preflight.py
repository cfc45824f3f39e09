"""Checks of a training run made before anything is written or trained.

A run that fails one of them leaves the run folder as it was, so the corrected rerun starts
cleanly: no ``config.json`` or ``splits.json`` from a start that never trained.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from isles2018.config import STAGES, Config, load_config, to_dict
from isles2018.data.splits import SPLITS_FILE as SPLITS
from isles2018.errors import TrainingError
from isles2018.inference.checkpoint import SIDECAR, read_sidecar


def runnable_without_dwi() -> list[str]:
    """Named stages whose training needs no MR_DWI."""
    return [s for s in STAGES if not load_config(s).pipeline.needs_dwi]


def check_dwi(cases: Sequence[Any], config: Config) -> None:
    """Stop at once when the config needs MR_DWI and some training case has none.

    Raises:
        TrainingError: naming the stage, the count, the file expected for the first such case
            when the layout names one (ISLES'24: the follow-up DWI co-registered to the NCCT),
            and the stages that can run without DWI.
    """
    from isles2018.data.modalities import Modality

    if not config.pipeline.needs_dwi:
        return
    missing = [c for c in cases if not c.has(Modality.DWI)]
    if not missing:
        return
    expected = next((c for c in missing if Modality.DWI in c.expected), None)
    if expected is not None:
        why = (
            f"{expected.case_id} has no follow-up DWI co-registered to the NCCT: "
            f"{expected.expected[Modality.DWI]} not found"
        )
    else:
        why = "the public ISLES 2018 release has no MR_DWI"
    raise TrainingError(
        f"config {config.name!r} needs MR_DWI, but {len(missing)} of {len(cases)} training "
        f"cases have none ({why}); stages that train without it: "
        f"{', '.join(runnable_without_dwi())}"
    )


def _comparable(config: Config) -> dict[str, Any]:
    data = to_dict(config)
    data.pop("name")
    data["optim"].pop("epochs")  # a resumed run may be extended
    data["runtime"].pop("device")
    data["runtime"].pop("compile")  # eager or compiled, the same networks and arithmetic
    return data


def check_same_config(stored: Path, config: Config) -> None:
    """Refuse a run folder whose ``config.json`` differs from ``config`` (epochs, device and
    ``runtime.compile`` may differ: a resumed run may be extended, moved or compiled).

    Raises:
        TrainingError: the stored config differs.
    """
    if Path(stored).is_file() and _comparable(load_config(stored)) != _comparable(config):
        out = Path(stored).parent
        raise TrainingError(f"{out} holds a run with another config ({stored}); use another --out")


def run_splits(cases: Sequence[Any], out: Path, config: Config, splits_file: Path | None) -> Any:
    """The run's splits: ``RUN/splits.json`` if present, else ``splits_file``, else new ones.

    Nothing is written here.

    Raises:
        TrainingError: ``splits_file`` differs from the run's own, or its fold count differs
            from ``runtime.folds``.
        DataError: a splits file that lists other cases, or cases that cannot fill the folds.
    """
    from isles2018.data.splits import Splits, load_or_make_splits

    own, k, seed = out / SPLITS, config.runtime.folds, config.runtime.seed
    if splits_file is not None:
        given = Splits.load(Path(splits_file))
        if given.k != k:
            raise TrainingError(
                f"{splits_file} has {given.k} folds but runtime.folds is {k}: use a config with "
                f"runtime.folds {given.k} or split again with --folds {k}"
            )
        if own.is_file() and Splits.load(own) != given:
            raise TrainingError(f"{own} differs from --splits {splits_file}; use another --out")
    source = own if own.is_file() or splits_file is None else Path(splits_file)
    return load_or_make_splits(cases, source, k=k, seed=seed, save=False)


def trained_epochs(folder: Path, *, epochs: int, resume: bool) -> int | None:
    """Epochs a fold folder has already trained (None: no checkpoint yet).

    Raises:
        TrainingError: a checkpoint without ``resume``, or one with more epochs than ``epochs``
            (a resumed run can be extended, not shortened).
    """
    if not (Path(folder) / SIDECAR).is_file():
        return None
    done = int(read_sidecar(folder).get("epoch", 0))
    if not resume:
        raise TrainingError(
            f"{folder} already holds a checkpoint (epoch {done}); pass --resume to continue"
        )
    if done > epochs:
        raise TrainingError(
            f"{folder} has trained {done} epochs; --epochs {epochs} would shorten the run "
            "(a resumed run can be extended, not shortened)"
        )
    return done
