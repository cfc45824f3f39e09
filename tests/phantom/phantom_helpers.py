"""Helpers shared by the phantom tests."""

from __future__ import annotations

import numpy as np

#: Seed of the session's written ci data set: its first patient has two slabs.
DATASET_SEED = 11


def mirror_mask(lesion: np.ndarray, mni_from_voxel: np.ndarray) -> np.ndarray:
    """Voxels mirrored across the MNI mid-sagittal plane (x → −x) from a lesion mask."""
    ijk = np.array(np.nonzero(lesion), dtype=np.float64)
    mni = mni_from_voxel[:3, :3] @ ijk + mni_from_voxel[:3, 3:4]
    mni[0] *= -1.0
    back = np.linalg.inv(mni_from_voxel)
    voxel = np.rint(back[:3, :3] @ mni + back[:3, 3:4]).astype(int)
    inside = np.all((voxel >= 0) & (voxel < np.array(lesion.shape)[:, None]), axis=0)
    mirror = np.zeros(lesion.shape, dtype=bool)
    mirror[tuple(voxel[:, inside])] = True
    return mirror & ~lesion.astype(bool)


def dice(reference: np.ndarray, prediction: np.ndarray) -> float:
    """``2|A∩B| / (|A| + |B|)``; 1.0 when both are empty."""
    a, b = reference.astype(bool), prediction.astype(bool)
    total = a.sum() + b.sum()
    return 1.0 if total == 0 else float(2.0 * np.sum(a & b) / total)
