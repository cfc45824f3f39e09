"""Broken pipelines that the Dice regression gate must tell from the intact one.

Each is built from the shipped artefacts, outside the code under test, so the intact pipeline
scores them through exactly the path users run (:class:`~isles2018.inference.Predictor`):

* ``threshold``: the classical threshold rule instead of the networks;
* ``zero-generator``: the ensemble with its generator's output replaced by zeros (its last
  1×1 convolution zeroed: the generator's output is linear, so it writes exactly 0);
* ``permuted-inputs``: the ensemble on the test cases with their four perfusion maps rotated
  (the CT_CBF file holds the CBV map, CT_CBV the MTT, CT_MTT the Tmax, CT_Tmax the CBF);
* ``one-epoch``: a model of the same config trained for one epoch only (fold 0; trained by the
  caller — the test and ``scripts/make_weights.py`` — since this package does not train).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from isles2018.data.layout import discover_cases
from isles2018.data.modalities import Modality
from isles2018.errors import UserError
from isles2018.files import file_digest
from isles2018.inference.checkpoint import SIDECAR, WEIGHTS

SABOTAGES = ("threshold", "zero-generator", "permuted-inputs", "one-epoch")
#: The last layer of the generator (a 1×1 convolution with a linear output).
GENERATOR_HEAD = ("generator.unet.head.weight", "generator.unet.head.bias")
#: Which map's contents each map file receives in ``permuted-inputs``.
ROTATION = {
    Modality.CBF: Modality.CBV,
    Modality.CBV: Modality.MTT,
    Modality.MTT: Modality.TMAX,
    Modality.TMAX: Modality.CBF,
}


def zero_generator_weights(weights: Path, out: Path) -> Path:
    """A copy of a weights folder whose generators output zeros; returns ``out``.

    Raises:
        UserError: a fold has no generator (a stage without GAN cannot be sabotaged this way).
    """
    from safetensors import safe_open
    from safetensors.torch import save_file

    folds = sorted(Path(weights).glob("fold_*"))
    if not folds:
        raise UserError(f"{weights}: no fold_<k> checkpoints")
    for fold in folds:
        target = Path(out) / fold.name
        target.mkdir(parents=True, exist_ok=True)
        with safe_open(str(fold / WEIGHTS), framework="pt") as source:
            metadata = source.metadata()
            tensors = {name: source.get_tensor(name) for name in source.keys()}
        if not all(name in tensors for name in GENERATOR_HEAD):
            raise UserError(f"{fold / WEIGHTS}: no generator to sabotage")
        for name in GENERATOR_HEAD:
            tensors[name] = tensors[name].zero_()
        save_file(tensors, str(target / WEIGHTS), metadata=metadata)
        sidecar = json.loads((fold / SIDECAR).read_text())
        sidecar["weights"]["sha256"] = file_digest(target / WEIGHTS)
        sidecar["training_state"] = None
        (target / SIDECAR).write_text(json.dumps(sidecar, indent=1))
    return Path(out)


def permuted_inputs(testing: Path, out: Path) -> Path:
    """A copy of a TESTING folder with each case's perfusion maps rotated; returns ``out``."""
    shutil.copytree(testing, out, dirs_exist_ok=True)
    for case in discover_cases(Path(out)):
        contents = {m: case.path(m).read_bytes() for m in ROTATION}
        for target, source in ROTATION.items():
            case.path(target).write_bytes(contents[source])
    return Path(out)
