"""What a phantom run is asked for, its checks and the parameters that determine its bytes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from isles2018.errors import PhantomError
from isles2018.phantom import PHANTOM_VERSION
from isles2018.phantom.isles24.names import SPELLINGS
from isles2018.phantom.isles24.plan import GEOMETRIES, MASK_DTYPES, MAX_SUBJECTS, Options
from isles2018.phantom.sampling import MAX_CASES, Profile, get_profile

#: ``isles2018``: the ISLES 2018 layout; ``isles24``: the ISLES'24 (BIDS) layout.
LAYOUTS = ("isles2018", "isles24")
_ISLES24_ONLY = "--spelling, --geometry, --oblique/--axis-aligned and --mask-dtype"


@dataclass(frozen=True)
class Request:
    """What to generate.

    Attributes:
        out: data-set root.
        cases: training cases (≥ 1); subjects in the ISLES'24 layout.
        test_cases: testing cases (≥ 0).
        seed: data-set seed.
        profile: ``isles``, ``ci`` or ``clean``.
        workers: processes (1: in this process).
        gzip: write ``.nii.gz``; None: the layout's default (``.nii`` for ISLES 2018,
            ``.nii.gz`` for ISLES'24).
        five_d: store the 4D series as ``(X, Y, Z, 1, T)``.
        layout: one of :data:`LAYOUTS`.
        spelling: ISLES'24 only: ``challenge`` (default) or ``sample``.
        geometry: ISLES'24 only: ``small`` (default) or ``realistic``.
        oblique: ISLES'24 only: tilted affine; None: oblique for ``realistic``, axis-aligned
            (x and y flipped) for ``small``.
        mask_dtype: ISLES'24 only: ``uint16`` (default) or ``float64``.
    """

    out: Path
    cases: int
    test_cases: int = 0
    seed: int = 0
    profile: str = "isles"
    workers: int = 1
    gzip: bool | None = None
    five_d: bool = False
    layout: str = "isles2018"
    spelling: str | None = None
    geometry: str | None = None
    oblique: bool | None = None
    mask_dtype: str | None = None

    @property
    def compressed(self) -> bool:
        """Whether volumes are written as ``.nii.gz``."""
        return self.gzip if self.gzip is not None else self.layout == "isles24"

    @property
    def ext(self) -> str:
        return ".nii.gz" if self.compressed else ".nii"

    def isles24_options(self) -> Options:
        """How ISLES'24-layout subjects are written (defaults filled in)."""
        geometry = self.geometry or "small"
        return Options(
            spelling=self.spelling or "challenge",
            geometry=geometry,
            oblique=self.oblique if self.oblique is not None else geometry == "realistic",
            mask_dtype=self.mask_dtype or "uint16",
            gzip=self.compressed,
            five_d=self.five_d,
        )

    def parameters(self) -> dict:
        """What determines the data set's bytes (recorded in and checked against the manifest).

        The ISLES 2018 layout records the keys it always did (its manifests stay byte-identical).
        """
        parameters = {
            "generator_version": PHANTOM_VERSION,
            "seed": self.seed,
            "profile": self.profile,
            "cases": self.cases,
            "test_cases": self.test_cases,
            "gzip": self.compressed,
            "five_d": self.five_d,
        }
        if self.layout == "isles24":
            options = self.isles24_options()
            parameters.update(
                layout=self.layout,
                spelling=options.spelling,
                geometry=options.geometry,
                oblique=options.oblique,
                mask_dtype=options.mask_dtype,
            )
        return parameters


def validate(request: Request) -> Profile:
    """The request's profile, after checking every option.

    Raises:
        PhantomError: a bad count, an unknown name, or ISLES'24 options with the ISLES 2018
            layout.
    """
    try:
        profile = get_profile(request.profile)
    except ValueError as error:
        raise PhantomError(str(error)) from None
    if request.cases < 1:
        raise PhantomError(f"--cases must be at least 1, got {request.cases}")
    if request.test_cases < 0:
        raise PhantomError(f"--test-cases must be 0 or more, got {request.test_cases}")
    if max(request.cases, request.test_cases) > MAX_CASES:
        raise PhantomError(f"at most {MAX_CASES} cases per partition")
    if request.workers < 1:
        raise PhantomError(f"--workers must be at least 1, got {request.workers}")
    if request.layout not in LAYOUTS:
        raise PhantomError(f"unknown layout {request.layout!r}; choose one of {', '.join(LAYOUTS)}")
    extra = (request.spelling, request.geometry, request.oblique, request.mask_dtype)
    if request.layout == "isles2018":
        if any(value is not None for value in extra):
            raise PhantomError(f"{_ISLES24_ONLY} apply to --layout isles24 only")
        return profile
    if max(request.cases, request.test_cases) > MAX_SUBJECTS:
        raise PhantomError(f"--layout isles24 holds at most {MAX_SUBJECTS} subjects per partition")
    for option, value, known in (
        ("spelling", request.spelling, SPELLINGS),
        ("geometry", request.geometry, GEOMETRIES),
        ("mask dtype", request.mask_dtype, MASK_DTYPES),
    ):
        if value is not None and value not in known:
            raise PhantomError(f"unknown {option} {value!r}; choose one of {', '.join(known)}")
    return profile
