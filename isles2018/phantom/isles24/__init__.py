"""The phantom in the ISLES'24 layout: the same physics on a whole-brain NCCT grid, written as
BIDS-style ``rawdata/`` and ``derivatives/`` trees (``isles2018 phantom --layout isles24``).

Modules: :mod:`.names` (file names, both spellings), :mod:`.plan` (subjects, options),
:mod:`.grid` (small and realistic grids, oblique or flipped affines), :mod:`.synthesis` (one
subject, slice by slice) and :mod:`.writer` (atomic subjects, reference tree, truth, cases.csv).
"""

from __future__ import annotations
