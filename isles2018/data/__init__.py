"""ISLES 2018 data layer: layout discovery, NIfTI I/O, channel stacking and splits."""
