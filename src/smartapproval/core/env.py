"""Read runtime settings from the environment through one typed helper."""

import os
from typing import overload

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class EnvError(ValueError):
    """A variable is set to something its setting cannot use."""


@overload
def env(name: str, default: str) -> str: ...
@overload
def env(name: str, default: bool) -> bool: ...
@overload
def env(name: str, default: int) -> int: ...
@overload
def env(name: str, default: list[str]) -> list[str]: ...
@overload
def env(name: str, default: None = None) -> str | None: ...


def env(name, default=None):
    """Return the variable ``name`` converted to the type of ``default``."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    if isinstance(default, bool):
        value = raw.strip().lower()
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
        raise EnvError(f"{name} must be a boolean, got {raw!r}")
    if isinstance(default, int):
        try:
            return int(raw)
        except ValueError as exc:
            raise EnvError(f"{name} must be an integer, got {raw!r}") from exc
    if isinstance(default, list):
        return [part.strip() for part in raw.split(",") if part.strip()]
    return raw
