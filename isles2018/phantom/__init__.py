"""Digital CT perfusion stroke phantom: synthetic cases in the exact ISLES 2018 layout (or, with
``--layout isles24``, the ISLES'24 one: :mod:`isles2018.phantom.isles24`).

Real anatomy (MNI ICBM152 2009 templates shipped by nilearn), indicator-dilution physics with a
gamma-variate AIF, perfusion maps computed by block-circulant SVD deconvolution as clinical
software does, DWI and plain CT from the tissue state, and ground truth beside the data.
Entry points: :func:`isles2018.phantom.generate.generate_dataset` and the ``isles2018 phantom``
command (:mod:`isles2018.phantom.commands`); the README describes the output.
"""

from __future__ import annotations

#: Version of the generator's output: bump whenever the same seed would give different bytes.
PHANTOM_VERSION = "2.0"
