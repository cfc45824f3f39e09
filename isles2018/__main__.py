"""``python -m isles2018``: the same as the ``isles2018`` command."""

from isles2018.cli import main

main(prog_name="isles2018")
