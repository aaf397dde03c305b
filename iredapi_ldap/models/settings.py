"""iRedMail's `accountSetting` values: `key:value` strings, some keys repeated."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..ldap.attrs import INTEGER_SETTINGS
from ..ldap.attrs import MULTI_SETTINGS
from ..ldap.directory import Entry

ATTRIBUTE = "accountSetting"
_INTEGER_KEYS = {key.lower(): key for key in INTEGER_SETTINGS}
_MULTI_KEYS = {key.lower(): key for key in MULTI_SETTINGS}


def pairs(values: list[str]) -> Iterator[tuple[str, str]]:
    """Yield (key, value) of each `key:value` accountSetting value, in stored order."""
    for raw in values:
        key, sep, value = raw.partition(":")
        if sep:
            yield key, value


def parse_settings(values: list[str]) -> dict[str, Any]:
    """Turn accountSetting values into a dict (ints, lists for repeated keys)."""
    result: dict[str, Any] = {}
    for key, value in pairs(values):
        if key.lower() in _INTEGER_KEYS:
            try:
                result[_INTEGER_KEYS[key.lower()]] = int(value)
            except ValueError:
                continue  # iRedAdmin ignores non-numeric values too
        elif key.lower() in _MULTI_KEYS:
            items = result.setdefault(_MULTI_KEYS[key.lower()], [])
            if value.lower() not in items:
                items.append(value.lower())
        else:
            result[key] = value
    return result


def settings_of(entry: Entry) -> dict[str, Any]:
    """Return an entry's parsed accountSetting."""
    return parse_settings(entry.all(ATTRIBUTE))


def setting_values(entry: Entry, key: str) -> list[str]:
    """Return every value of one accountSetting key (case-insensitive key), in stored order."""
    wanted = key.lower()
    return [value for name, value in pairs(entry.all(ATTRIBUTE)) if name.lower() == wanted]


def setting_value(entry: Entry, key: str) -> str | None:
    """Return the first value of one accountSetting key, or None."""
    values = setting_values(entry, key)
    return values[0] if values else None


def setting_int(entry: Entry, key: str) -> int:
    """Return an integer accountSetting value (0 when absent or not a number)."""
    try:
        return int(setting_value(entry, key) or 0)
    except ValueError:
        return 0


def _encode(key: str, value: Any) -> list[str]:
    if value is None or value == "" or value == []:
        return []
    if isinstance(value, (list, tuple)):
        return [f"{key}:{item}" for item in value]
    return [f"{key}:{value}"]


def setting_changes(entry: Entry, updates: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """Return modify steps replacing the given keys; None or empty removes a key.

    The exact old values are deleted and the new ones added in one modify, so a
    concurrent change to the same keys makes the modify fail instead of being lost.
    """
    wanted = {key.lower() for key in updates}
    old = [v for v in entry.all(ATTRIBUTE) if v.partition(":")[0].lower() in wanted]
    new: list[str] = []
    for key, value in updates.items():
        new.extend(_encode(key, value))
    old_set, new_set = set(old), set(new)
    steps: list[tuple[str, list[str]]] = []
    if old_set - new_set:
        steps.append(("delete", sorted(old_set - new_set)))
    if new_set - old_set:
        steps.append(("add", sorted(new_set - old_set)))
    return steps
