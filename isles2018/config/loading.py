"""Configs as JSON: named variants, files, ``+``-joined merges, overrides and saving.

Variants are JSON files in ``isles2018/configs/``, each a *partial* override of the paper's
defaults (:mod:`isles2018.config.schema`); :func:`load_config` merges one or more of them
(``"gan+ci"``: the ``gan`` stage at the ``ci`` scale). Unknown keys are an error that names the
key.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from importlib import resources
from pathlib import Path
from typing import Any

from isles2018.config.schema import Config, _check
from isles2018.errors import ConfigError
from isles2018.files import atomic_path


def to_dict(config: Any) -> dict[str, Any]:
    """The config as plain JSON-ready data (tuples become lists)."""
    return json.loads(json.dumps(dataclasses.asdict(config)))


def _accepts(annotation: Any, value: Any) -> bool:
    """Whether ``value``'s JSON kind is the kind of one alternative of a union field."""
    if typing.get_origin(annotation) is tuple:
        return isinstance(value, (list, tuple))
    if annotation is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, annotation)


_KINDS = {bool: "true/false", int: "an int", float: "a number", str: "a string"}


def _coerce(value: Any, annotation: Any, where: str) -> Any:
    origin = typing.get_origin(annotation)
    if isinstance(annotation, types.UnionType):
        # e.g. ``tuple[float, float] | str``: the alternative of the value's kind decides.
        alternatives = typing.get_args(annotation)
        for alternative in alternatives:
            if _accepts(alternative, value):
                return _coerce(value, alternative, where)
        kinds = [_KINDS.get(a, "a list") for a in alternatives]
        raise ConfigError(f"{where}: expected {' or '.join(kinds)}, got {value!r}")
    if dataclasses.is_dataclass(annotation):
        _check(isinstance(value, dict), f"{where}: expected an object, got {value!r}")
        return _build(annotation, value, where)
    if origin is tuple:
        _check(isinstance(value, (list, tuple)), f"{where}: expected a list, got {value!r}")
        args = typing.get_args(annotation)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(v, args[0], where) for v in value)
        _check(len(value) == len(args), f"{where}: expected {len(args)} values, got {value!r}")
        return tuple(_coerce(v, a, where) for v, a in zip(value, args, strict=True))
    if annotation is bool:
        _check(isinstance(value, bool), f"{where}: expected true/false, got {value!r}")
        return value
    if annotation is int:
        _check(isinstance(value, int) and not isinstance(value, bool), f"{where}: not an int")
        return value
    if annotation is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        _check(ok, f"{where}: expected a number, got {value!r}")
        return float(value)
    if annotation is str:
        _check(isinstance(value, str), f"{where}: expected a string, got {value!r}")
        return value
    raise ConfigError(f"{where}: unsupported field type {annotation!r}")


def _build(cls: type, data: dict[str, Any], where: str = "") -> Any:
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    for key in data:
        if key not in names:
            path = f"{where}.{key}" if where else key
            raise ConfigError(f"unknown config key {path!r}")
    kwargs = {
        key: _coerce(value, hints[key], f"{where}.{key}" if where else key)
        for key, value in data.items()
    }
    return cls(**kwargs)


def from_dict(data: dict[str, Any]) -> Config:
    """Build a config from (possibly partial) JSON data; missing keys take the defaults.

    Raises:
        ConfigError: an unknown key, a wrong type or an invalid value (the message names it).
    """
    _check(isinstance(data, dict), "a config must be a JSON object")
    return _build(Config, data)


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def named_configs() -> list[str]:
    """Names of the JSON configs shipped in ``isles2018/configs/``."""
    folder = resources.files("isles2018").joinpath("configs")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".json"))


def _read_part(part: str) -> dict[str, Any]:
    path = Path(part)
    if part.endswith(".json") or path.is_file():
        if not path.is_file():
            raise ConfigError(f"{part}: config file not found")
        text = path.read_text()
    else:
        source = resources.files("isles2018").joinpath("configs", f"{part}.json")
        if not source.is_file():
            raise ConfigError(
                f"unknown config {part!r}; named configs: {', '.join(named_configs())}"
            )
        text = source.read_text()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(f"{part}: invalid JSON ({error})") from None
    _check(isinstance(data, dict), f"{part}: a config must be a JSON object")
    return data


def load_config(name_or_path: str | Path) -> Config:
    """Load a named config, a JSON file, or several joined by ``+`` (merged left to right).

    Each part is a partial override of the paper's defaults, e.g. ``"gan-gn-maxout"``,
    ``"ci"``, ``"gan+ci"`` (the ``gan`` stage with the ``ci`` scale) or ``"my_run.json"``. The
    result's ``name`` is the spec given unless a part sets one.

    Raises:
        ConfigError: unknown name, missing file, invalid JSON, unknown key or invalid value.
    """
    spec = str(name_or_path)
    data: dict[str, Any] = {"name": Path(spec).stem if spec.endswith(".json") else spec}
    for part in spec.split("+") if not Path(spec).is_file() else [spec]:
        data = _merge(data, _read_part(part.strip()))
    return from_dict(data)


def save_config(config: Config, path: Path) -> None:
    """Write the full config (every field) as indented JSON, atomically."""
    with atomic_path(Path(path)) as temporary:
        temporary.write_text(json.dumps(to_dict(config), indent=2) + "\n")


def with_overrides(config: Config, **sections: dict[str, Any]) -> Config:
    """A copy with some fields replaced, e.g. ``with_overrides(c, optim={"epochs": 2})``.

    Raises:
        ConfigError: unknown section or key.
    """
    return from_dict(_merge(to_dict(config), sections))
