"""Agent arguments → Wiro parameters, checked against the same field rules the schema shows.

Forgiving only where it cannot change meaning: `duration: 5` is the option "5", a number for a
text seed becomes its digits, and a case-only difference is accepted when exactly one option matches.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from wiro_mcp.catalog.fields import FieldRule

MAX_TEXT_CHARS = 20_000  # far above any prompt Wiro takes; keeps errors and the journal sane
MAX_URL_CHARS = 4_096


def clip(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, saying so: echoed values never flood an error."""
    return text if len(text) <= limit else text[: max(limit - 20, 0)] + f"… ({len(text)} chars)"


def one_line(text: str, limit: int) -> str:
    """`text` as one printable line, cut to `limit`: line breaks, control and format characters (bidi
    overrides too) are shown escaped, so a value can never pose as another line of a message."""
    head = text[: limit * 2]  # escaping only what can be shown: the text may be megabytes
    shown = "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in head)
    if len(text) > len(head):
        return shown[: max(limit - 20, 0)] + f"… ({len(text)} chars)"
    return clip(shown, limit)


@dataclass(frozen=True)
class FieldError:
    field: str
    value: Any
    message: str

    def __str__(self) -> str:
        return f"{clip(self.field, 60)}: {self.message}"


@dataclass(frozen=True)
class Validated:
    params: dict[str, Any]
    errors: tuple[FieldError, ...]
    filled: tuple[str, ...] = ()  # required fields left out, given their published default

    @property
    def ok(self) -> bool:
        return not self.errors


def _norm(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def suggest(name: str, known: Sequence[str]) -> list[str]:
    """Close known names: same letters ignoring case and separators, containment, or a near spelling."""
    wanted = _norm(name)
    by_norm = {_norm(k): k for k in known}
    if wanted in by_norm:
        return [by_norm[wanted]]
    hits = [k for k in known if len(_norm(k)) >= 3 and (_norm(k) in wanted or wanted in _norm(k))]
    hits += [by_norm[n] for n in difflib.get_close_matches(wanted, list(by_norm), n=3, cutoff=0.6)]
    return list(dict.fromkeys(hits))


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _text_problem(value: str, limit: int) -> str | None:
    if "\x00" in value:
        return "contains a NUL character"
    if len(value) > limit:
        return f"is {len(value)} characters long; the limit is {limit}"
    return None


MAX_NUMBER = 1e18  # beyond any parameter Wiro takes; bigger integers cannot even become floats


def _finite(value: Any) -> bool:
    """A number that is an ordinary figure: no bool, NaN, infinity or integer of 400 digits."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return (
        abs(value) <= MAX_NUMBER
        if isinstance(value, int)
        else math.isfinite(value) and abs(value) <= MAX_NUMBER
    )


def _as_number_text(value: Any) -> str | None:
    if not _finite(value):
        return None
    return str(int(value)) if float(value).is_integer() else repr(value)


def _check_enum(rule: FieldRule, value: Any) -> str | FieldError:
    allowed = ", ".join(repr(v) for v in rule.enum)
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, int | float):
        text = _as_number_text(value) or ""
    elif isinstance(value, str):
        text = value
    else:
        return FieldError(rule.name, value, f"{_short(value)} is not allowed; use one of {allowed}")
    if text in rule.enum:
        return text
    folded = [v for v in rule.enum if v.lower() == text.lower()]
    if len(folded) == 1:
        return folded[0]
    return FieldError(rule.name, value, f"{_short(value)} is not allowed; use one of {allowed}")


def _check_number(rule: FieldRule, value: Any) -> float | int | FieldError:
    number: float | int | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and len(value) <= 100:
        try:
            parsed = float(value.strip())
        except ValueError:
            parsed = None
        if parsed is not None:
            number = int(parsed) if _finite(parsed) and parsed.is_integer() else parsed
    if number is None:
        return FieldError(rule.name, value, f"{_short(value)} is not a number")
    if not _finite(number):
        return FieldError(
            rule.name, value, f"{_short(value)} is not a finite number of at most {MAX_NUMBER:g}"
        )
    if (rule.minimum is not None and number < rule.minimum) or (
        rule.maximum is not None and number > rule.maximum
    ):
        return FieldError(rule.name, value, f"{number} is outside {rule.minimum}..{rule.maximum}")
    return number


def _check_string(rule: FieldRule, value: Any) -> str | FieldError:
    if isinstance(value, str):
        problem = _text_problem(value, MAX_TEXT_CHARS)
        if problem:
            return FieldError(rule.name, value, problem)
        if rule.required and not value.strip():
            return FieldError(rule.name, value, "is required and cannot be empty")
        return value
    text = _as_number_text(value)
    if text is not None:
        return text
    return FieldError(rule.name, value, f"{_short(value)} is not text")


def _check_boolean(rule: FieldRule, value: Any) -> bool | FieldError:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return FieldError(rule.name, value, f"{_short(value)} is not true or false")


def _check_file(rule: FieldRule, value: Any) -> str | list[str] | FieldError:
    several = rule.multiple or rule.combine
    items: list[Any] = list(value) if several and isinstance(value, list) else [value]  # pyright: ignore[reportUnknownArgumentType]
    if rule.combine and isinstance(value, str):
        items = [v for v in value.split(",") if v.strip()]
    if not items or not all(isinstance(v, str) and v.strip() for v in items):
        what = (
            "URLs or local file paths (non-empty strings)"
            if several
            else "a URL or a local file path (a non-empty string)"
        )
        return FieldError(rule.name, value, f"must be {what}")
    texts = [str(v).strip() for v in items]
    for text in texts:
        problem = _text_problem(text, MAX_URL_CHARS)
        if problem:
            return FieldError(rule.name, text, problem)
        try:
            parts = urlsplit(text)
            host = parts.hostname
        except ValueError as exc:  # `http://[::1`: an IPv6 host not closed, a bad port…
            return FieldError(rule.name, text, f"{_short(text)} is not a valid URL ({exc})")
        if parts.scheme.lower() in ("http", "https") and not host:
            return FieldError(rule.name, text, f"{_short(text)} is not a URL: it has no host")
    return texts if rule.combine else ",".join(texts)


def check_value(rule: FieldRule, value: Any) -> Any:
    """The Wiro value for `value`, or a FieldError."""
    match rule.kind:
        case "enum":
            return _check_enum(rule, value)
        case "number":
            return _check_number(rule, value)
        case "file":
            return _check_file(rule, value)
        case "boolean":
            return _check_boolean(rule, value)
        case "string":
            return _check_string(rule, value)


def validate_arguments(rules: Sequence[FieldRule], arguments: Mapping[str, Any] | None) -> Validated:
    by_name = {r.name: r for r in rules}
    params: dict[str, Any] = {}
    errors: list[FieldError] = []
    given = dict(arguments or {})
    for name, value in given.items():
        rule = by_name.get(name)
        if rule is None:
            hint = suggest(name[:200], list(by_name))
            did_you_mean = f"; did you mean {' or '.join(repr(h) for h in hint)}?" if hint else ""
            errors.append(
                FieldError(name, value, f"unknown field{did_you_mean} (fields: {', '.join(by_name)})")
            )
            continue
        if value is None:
            continue
        checked = check_value(rule, value)
        if isinstance(checked, FieldError):
            errors.append(checked)
        else:
            params[name] = checked
    filled: list[str] = []
    for rule in rules:
        if rule.required and rule.name not in params and not any(e.field == rule.name for e in errors):
            errors.append(FieldError(rule.name, None, "is required"))
        if rule.sent_default and rule.name not in params and rule.name not in given:
            params[rule.name] = rule.default
            filled.append(rule.name)
    return Validated(params=params, errors=tuple(errors), filled=tuple(filled))
