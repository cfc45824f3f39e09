"""The NCCT grid of an ISLES'24-layout subject: whole-brain coverage, optionally oblique.

Every volume of a subject lies on this one grid (the NCCT space of the real derivatives). The
head sits on it as in the ISLES 2018 layout: the patient's pose (rotation ±8°, scale 0.92–1.08,
in-plane shift) relative to axis-aligned scanner axes, centred on the brain (MNI
``(0, −17, 5)`` mm). The stored x and y axes run right-to-left and anterior-to-posterior (the
diagonal ``(−sx, −sy, sz)``, as in sub-stroke0158); the oblique variant also tilts the whole
scanner frame by :data:`TILT_DEG` about x (a gantry tilt: off-diagonal terms in y and z, as in
sub-stroke0014). The tilt changes the affine only: the voxel data are the same either way.
"""

from __future__ import annotations

import numpy as np

from isles2018.phantom.anatomy import SlabGeometry, rotation_matrix
from isles2018.phantom.isles24.plan import GridSpec
from isles2018.phantom.sampling import Patient
from isles2018.phantom.state import patient_geometry

#: Gantry tilt of the oblique grids (degrees about x).
TILT_DEG = 15.0
HEAD_CENTRE_MNI_MM = (0.0, -17.0, 5.0)


def subject_grid(patient: Patient, spec: GridSpec, *, oblique: bool) -> SlabGeometry:
    """The NCCT grid of a patient: shape, affine (voxel → mm) and the pose in MNI space."""
    pose = patient_geometry(patient, 0).mni_from_world  # scanner mm → MNI mm
    centre = np.linalg.inv(pose) @ np.array([*HEAD_CENTRE_MNI_MM, 1.0])
    axes = np.diag([-spec.spacing_mm[0], -spec.spacing_mm[1], spec.spacing_mm[2]])
    scanner = np.eye(4)
    scanner[:3, :3] = axes
    scanner[:3, 3] = centre[:3] - axes @ ((np.array(spec.shape) - 1) / 2.0)
    tilt = np.eye(4)
    if oblique:
        tilt[:3, :3] = rotation_matrix((TILT_DEG, 0.0, 0.0))
    return SlabGeometry(
        shape=spec.shape,
        affine=tilt @ scanner,
        mni_from_world=pose @ np.linalg.inv(tilt),
    )


def slice_geometry(grid: SlabGeometry, z: int) -> SlabGeometry:
    """Slice ``z`` of a grid as a one-slice grid ``(X, Y, 1)``."""
    affine = grid.affine.copy()
    affine[:3, 3] += affine[:3, 2] * z
    return SlabGeometry(
        shape=(grid.shape[0], grid.shape[1], 1), affine=affine, mni_from_world=grid.mni_from_world
    )
