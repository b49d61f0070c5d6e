"""One place for the rules a number must follow, used by the config dataclasses (so the library, the
GUI and scripts get them) and by the command line (so a bad option is one clear line, exit 2).

A rule is (lowest, highest, integer); NaN, infinities and booleans are never numbers here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from models.errors import SpotterError


class ConfigError(SpotterError, ValueError):
    """A setting outside its documented range."""


@dataclass(frozen=True)
class Range:
    """lo <= value <= hi (either end open with ``None``); ``integer`` for counts."""

    lo: float | None = None
    hi: float | None = None
    integer: bool = False

    def describe(self) -> str:
        kind = "a whole number" if self.integer else "a number"
        if self.lo is not None and self.hi is not None:
            return f"{kind} from {_show(self.lo)} to {_show(self.hi)}"
        if self.lo is not None:
            return f"{kind} of at least {_show(self.lo)}"
        if self.hi is not None:
            return f"{kind} of at most {_show(self.hi)}"
        return kind


def _show(v: float) -> str:
    return f"{int(v):,}" if float(v).is_integer() else f"{v:g}"


def check(name: str, value: Any, rule: Range) -> Any:
    """``value`` if it follows ``rule``; :class:`ConfigError` naming ``name`` otherwise."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if ok:
        ok = math.isfinite(value) and (not rule.integer or float(value).is_integer())
    if ok and rule.lo is not None:
        ok = value >= rule.lo
    if ok and rule.hi is not None:
        ok = value <= rule.hi
    if not ok:
        raise ConfigError(f"{name} must be {rule.describe()} (got {value!r})")
    return int(value) if rule.integer else value


def check_fields(config: object, rules: dict[str, Range]) -> None:
    """Check the named fields of a config dataclass (``None`` means "not set" and passes)."""
    for name, rule in rules.items():
        value = getattr(config, name)
        if value is not None:
            check(f"{type(config).__name__}.{name}", value, rule)


def parse(name: str, text: str, rule: Range) -> Any:
    """A command-line value: parsed, then checked (for argparse ``type=``)."""
    try:
        value: Any = int(text) if rule.integer else float(text)
    except ValueError:
        raise ConfigError(f"{name} must be {rule.describe()} (got {text!r})") from None
    return check(name, value, rule)
