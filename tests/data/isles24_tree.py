"""Writer of tiny ISLES'24 BIDS trees with real NIfTI files, laid out as the challenge README
and the sample files (both spellings), with the quirks discovery must handle."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from isles2018.data.io import write_volume

SHAPE = (12, 10, 4)
FRAMES = 6
MAPS = ("cbf", "cbv", "mtt", "tmax")

#: NCCT grid: 0.4 × 0.4 × 2 mm, x flipped, tilted 12° about x (off-diagonal y/z terms), offset.
_TILT = np.deg2rad(12.0)
OBLIQUE = np.array(
    [
        [-0.4, 0.0, 0.0, 90.0],
        [0.0, 0.4 * np.cos(_TILT), -2.0 * np.sin(_TILT), -110.0],
        [0.0, 0.4 * np.sin(_TILT), 2.0 * np.cos(_TILT), -60.0],
        [0.0, 0.0, 0.0, 1.0],
    ]
)
#: A grid of the acquired (MR or raw CT) space: other spacing and origin than the NCCT's.
ACQUIRED = np.diag([1.8, 1.8, 5.0, 1.0]) + np.array([[0, 0, 0, -100.0]] * 3 + [[0, 0, 0, 0]])


def subject_name(number: int, spelling: str) -> tuple[str, str, str]:
    """``(subject, acute session, follow-up session)`` in one of the two spellings."""
    if spelling == "strokecase":
        return f"sub-strokecase{number:04d}", "ses-0001", "ses-0002"
    return f"sub-stroke{number:04d}", "ses-01", "ses-02"


def write_subject(
    root: Path,
    number: int,
    *,
    spelling: str = "stroke",
    gzip: bool = True,
    mask: str | None = "uint16",
    mask_space: bool = True,
    dwi: bool = True,
    derived_maps: bool = True,
    raw_maps: bool = True,
    five_d: bool = False,
    affine: np.ndarray = OBLIQUE,
) -> str:
    """Write one subject under ``root/rawdata`` and ``root/derivatives``; return its name.

    Always written: the NCCT, the raw CTP/CTA and MR-space DWI/ADC (on :data:`ACQUIRED`), and
    ``lvo-msk``/``cow-msk`` masks (labels up to 7: never the lesion). ``mask`` is the lesion
    mask's dtype (``"uint16"``, ``"float64"``, or None for none), ``mask_space`` whether its
    name carries ``space-ncct``; ``dwi`` adds the co-registered follow-up DWI; ``derived_maps``
    the ``space-ncct`` maps and CTP; ``raw_maps`` the maps in ``rawdata`` (on the NCCT grid).
    """
    rng = np.random.default_rng(number)
    subject, acute, later = subject_name(number, spelling)
    ext = ".nii.gz" if gzip else ".nii"
    raw, derived = Path(root) / "rawdata" / subject, Path(root) / "derivatives" / subject
    lesion = np.zeros(SHAPE, np.uint8)
    lesion[3:7, 2:6, 1:3] = 1

    def write(folder: Path, entities: str, array: np.ndarray, grid: np.ndarray = affine) -> None:
        four_d = array.ndim == 4
        path = folder / f"{subject}_{entities}{ext}"
        write_volume(
            path, array, grid, time_step_s=1.0 if four_d else None, five_d=five_d and four_d
        )

    def series() -> np.ndarray:
        return rng.integers(0, 300, (*SHAPE, FRAMES)).astype(np.int16)

    write(raw / acute, f"{acute}_ncct", rng.integers(0, 80, SHAPE).astype(np.int16))
    write(raw / acute, f"{acute}_cta", rng.integers(0, 300, SHAPE).astype(np.int16), ACQUIRED)
    write(raw / acute, f"{acute}_ctp", series(), ACQUIRED)
    write(raw / later, f"{later}_dwi", rng.uniform(0, 9, SHAPE).astype(np.float32), ACQUIRED)
    write(raw / later, f"{later}_adc", rng.uniform(0, 9, SHAPE).astype(np.float32), ACQUIRED)
    for kind, top in (("lvo", 1), ("cow", 7)):
        labels = rng.integers(0, top + 1, SHAPE).astype(np.uint8)
        write(derived / acute, f"{acute}_space-ncct_{kind}-msk", labels)
    maps = {m: rng.uniform(0, 20, SHAPE) + 5 * lesion for m in MAPS}
    if derived_maps:
        write(derived / acute, f"{acute}_space-ncct_ctp", series())
        for m in MAPS:
            write(derived / acute / "perfusion-maps", f"{acute}_space-ncct_{m}", maps[m])
    if raw_maps:
        for m in MAPS:
            write(raw / acute / "perfusion-maps", f"{acute}_{m}", maps[m] + 1)
    if dwi:
        image = rng.uniform(100, 200, SHAPE).astype(np.float32) + 100 * lesion
        write(derived / later, f"{later}_space-ncct_dwi", image)
    if mask is not None:
        space = "_space-ncct" if mask_space else ""
        write(derived / later, f"{later}{space}_lesion-msk", lesion.astype(mask))
    return subject
