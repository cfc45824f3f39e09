"""Named metric conventions and the presets that reproduce other tools.

Every choice that makes two libraries disagree on "the same" metric is one field of
:class:`Conventions`. A preset is just an instance; users may build their own::

    Conventions(name="mine", erosion_connectivity=26, hd95_pooling="pooled")
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from evaluation.errors import EvaluationError

PercentileMethod = Literal["linear", "lower", "inverted-cdf"]
HD95Pooling = Literal["max-directed", "pooled"]
ASSDPooling = Literal["pooled", "mean-of-means"]
SurfaceModel = Literal["voxels", "surfels"]
LesionMatching = Literal["overlap", "iou"]

#: Neighbourhood size → ``scipy.ndimage.generate_binary_structure`` rank (3D).
CONNECTIVITY_RANK = {6: 1, 18: 2, 26: 3}

#: How aggregation treats infinite distances (see :mod:`evaluation.aggregate`).
INF_POLICIES: tuple[str, ...] = ("report", "penalty", "exclude")


@dataclass(frozen=True)
class Conventions:
    """How every metric is defined, field by field.

    Attributes:
        name: a label written into ``summary.json``.
        erosion_connectivity: neighbourhood of the erosion that defines surface voxels
            (``surface = mask & ~erode(mask)``): 6 (faces), 18 (faces + edges) or 26 (all).
        border_is_background: True: voxels outside the volume count as background, so a lesion
            touching the first or last slice has surface there (MedPy, MONAI). False: they count
            as foreground (ITK ``BinaryErode`` default, the old ISLES tool).
        surface_model: ``"voxels"``: surface voxels ``mask & ~erode(mask)``, each distance
            weighted 1; ``"surfels"``: marching-cubes surface elements on the voxel-corner grid,
            each distance weighted by its area in mm² (DeepMind surface-distance; see
            :mod:`evaluation.surfels`). Surfels ignore ``erosion_connectivity`` and need
            ``border_is_background=True`` and ``percentile_method="inverted-cdf"``.
        percentile_method: ``"linear"`` (numpy's default interpolation), ``"lower"``
            (the sorted value at index ``floor(q/100 · (n-1))``, as in ITK-based tools) or
            ``"inverted-cdf"`` (no interpolation: the smallest distance whose cumulative weight
            reaches ``q/100`` of the total, as in surface-distance's robust Hausdorff).
        hd95_pooling: ``"max-directed"``: max of the two directed 95th percentiles;
            ``"pooled"``: 95th percentile of both directed distance sets pooled (MedPy).
        assd_pooling: ``"pooled"``: mean over both directed sets pooled (Heimann 2009, MedPy
            0.5.2); ``"mean-of-means"``: mean of the two directed means (MASD, old ISLES tool).
        lesion_connectivity: connectivity (6, 18 or 26) of connected components for the
            lesion-wise counts.
        lesion_count_absolute: True: ``lesion_count_difference = |n_pred - n_ref|`` (ISLES'22);
            False: signed, ``n_pred - n_ref``.
        lesion_matching: ``"overlap"``: a lesion is detected when it shares one voxel with the
            other mask (ISLES'22, :mod:`evaluation.lesions`); ``"iou"``: one-to-one greedy
            matching of components at IoU ≥ ``lesion_iou_threshold`` (ISLES'24 through
            panoptica, :mod:`evaluation.instances`).
        lesion_iou_threshold: the IoU a pair needs to match under ``"iou"`` (inclusive, as
            panoptica compares with ``>=``), within [0, 1].
    """

    name: str = "custom"
    erosion_connectivity: int = 6
    border_is_background: bool = True
    percentile_method: PercentileMethod = "linear"
    hd95_pooling: HD95Pooling = "max-directed"
    assd_pooling: ASSDPooling = "pooled"
    lesion_connectivity: int = 26
    lesion_count_absolute: bool = False
    surface_model: SurfaceModel = "voxels"
    lesion_matching: LesionMatching = "overlap"
    lesion_iou_threshold: float = 0.2

    def __post_init__(self) -> None:
        for field in ("erosion_connectivity", "lesion_connectivity"):
            value = getattr(self, field)
            if value not in CONNECTIVITY_RANK:
                raise EvaluationError(f"Conventions.{field} must be 6, 18 or 26, got {value!r}")
        choices = {
            "percentile_method": ("linear", "lower", "inverted-cdf"),
            "hd95_pooling": ("max-directed", "pooled"),
            "assd_pooling": ("pooled", "mean-of-means"),
            "surface_model": ("voxels", "surfels"),
            "lesion_matching": ("overlap", "iou"),
        }
        for field, allowed in choices.items():
            value = getattr(self, field)
            if value not in allowed:
                raise EvaluationError(
                    f"Conventions.{field} must be one of {allowed}, got {value!r}"
                )
        threshold = self.lesion_iou_threshold
        if isinstance(threshold, bool) or not isinstance(threshold, int | float):
            raise EvaluationError(
                f"Conventions.lesion_iou_threshold must be a number in [0, 1], got {threshold!r}"
            )
        if not 0.0 <= threshold <= 1.0:  # also rejects NaN
            raise EvaluationError(
                f"Conventions.lesion_iou_threshold must be within [0, 1], got {threshold!r}"
            )
        if self.surface_model == "surfels":
            # Surfels sit on the corner grid of a zero-padded volume and carry areas: the
            # border is background by construction, and only a weighted percentile is defined.
            if not self.border_is_background:
                raise EvaluationError(
                    "Conventions.border_is_background must be True with surface_model "
                    "'surfels', got False"
                )
            if self.percentile_method != "inverted-cdf":
                raise EvaluationError(
                    "Conventions.percentile_method must be 'inverted-cdf' with surface_model "
                    f"'surfels' (distances are area-weighted), got {self.percentile_method!r}"
                )

    @property
    def erosion_rank(self) -> int:
        """``scipy.ndimage.generate_binary_structure`` rank of the erosion neighbourhood."""
        return CONNECTIVITY_RANK[self.erosion_connectivity]

    @property
    def lesion_rank(self) -> int:
        """``generate_binary_structure`` rank of the lesion connected-component neighbourhood."""
        return CONNECTIVITY_RANK[self.lesion_connectivity]

    def to_dict(self) -> dict[str, Any]:
        """The fields as a JSON-ready dict."""
        return asdict(self)


PRESETS: dict[str, Conventions] = {
    # Our default: see docs/EVALUATION.md.
    "default": Conventions(name="default"),
    # MedPy 0.5.2: same surface (6-connected erosion, border = background), pooled HD95.
    "medpy": Conventions(name="medpy", hd95_pooling="pooled"),
    # The ITK-based ISLES 2015-2018 evaluator.
    "isles-itk": Conventions(
        name="isles-itk",
        erosion_connectivity=18,
        border_is_background=False,
        percentile_method="lower",
        assd_pooling="mean-of-means",
    ),
    # ISLES'22 scoring: lesion-wise F1 and |lesion count difference| with 26-connectivity.
    "isles22": Conventions(name="isles22", lesion_connectivity=26, lesion_count_absolute=True),
    # ISLES'24 scoring (eval_utils.py through panoptica): 26-connected components matched one
    # to one at IoU >= 0.2, |lesion count difference|.
    "isles24": Conventions(
        name="isles24",
        lesion_connectivity=26,
        lesion_count_absolute=True,
        lesion_matching="iou",
        lesion_iou_threshold=0.2,
    ),
    # DeepMind surface-distance: area-weighted corner surfels, percentile without
    # interpolation, ASSD as the mean of its two directed averages.
    "deepmind": Conventions(
        name="deepmind",
        surface_model="surfels",
        percentile_method="inverted-cdf",
        assd_pooling="mean-of-means",
    ),
}


def resolve_preset(preset: str | Conventions) -> Conventions:
    """Return the :class:`Conventions` for a preset name (or pass an instance through).

    Raises:
        EvaluationError: for an unknown preset name.
    """
    if isinstance(preset, Conventions):
        return preset
    try:
        return PRESETS[preset]
    except (KeyError, TypeError):
        raise EvaluationError(
            f"unknown preset {preset!r}: choose one of {', '.join(PRESETS)}"
        ) from None
