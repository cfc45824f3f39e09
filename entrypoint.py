#!/usr/bin/env python3
"""Container entry point.

With no arguments it predicts the ISLES cases under ``/input`` (a TESTING folder, a folder
holding one, or a single case folder) into ``/output`` with the weights baked into the image
(``/opt/app/weights``), in challenge format. With arguments it runs the ``isles2018`` command
line, so ``docker run IMAGE --help``, ``... predict ...`` and ``... train ...`` all work.

Environment: ``ISLES_METHOD_NAME`` sets the ``<method>`` of the output file names (default
``GANSeg``); ``ISLES_INPUT``, ``ISLES_OUTPUT`` and ``ISLES_WEIGHTS`` move the default paths.
"""

from __future__ import annotations

import os
import sys


def default_arguments() -> list[str]:
    """The ``isles2018`` arguments of a bare ``docker run IMAGE``."""
    from isles2018.data.modalities import DEFAULT_METHOD_NAME

    return [
        "predict",
        os.environ.get("ISLES_INPUT", "/input"),
        "--out",
        os.environ.get("ISLES_OUTPUT", "/output"),
        "--weights",
        os.environ.get("ISLES_WEIGHTS", "/opt/app/weights"),
        "--method-name",
        os.environ.get("ISLES_METHOD_NAME") or DEFAULT_METHOD_NAME,
    ]


def main(argv: list[str]) -> None:
    """Run the ``isles2018`` CLI with ``argv``, or the default prediction when it is empty."""
    from isles2018.cli import main as cli

    cli.main(args=argv or default_arguments(), prog_name="isles2018")


if __name__ == "__main__":
    main(sys.argv[1:])
