"""Loading the catalog: the bundled spec files, an optional extra folder, an optional allow-list."""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from wiro_mcp.catalog.constraints import Constraint, constraints_for, validate_call
from wiro_mcp.catalog.fields import FieldRule, rules_for
from wiro_mcp.catalog.schema import input_schema, tool_description, tool_name
from wiro_mcp.catalog.spec import ModelSpec
from wiro_mcp.catalog.validate import Validated
from wiro_mcp.errors import SpecError


@dataclass(frozen=True)
class CatalogEntry:
    """One catalog model as the server uses it: the spec and everything derived from it once."""

    name: str
    spec: ModelSpec
    rules: tuple[FieldRule, ...]
    input_schema: dict[str, Any]
    description: str
    origin: str
    constraints: tuple[Constraint, ...] = ()

    def validate(self, arguments: dict[str, Any] | None) -> Validated:
        """The arguments as Wiro will get them, or every problem with them (nothing is sent then)."""
        return validate_call(self.rules, self.constraints, arguments)


def bundled_dir() -> Path:
    return Path(str(resources.files("wiro_mcp.tools")))


def _field_path(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def parse_spec(text: str, origin: str) -> ModelSpec:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecError(
            f"{origin}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    try:
        return ModelSpec.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"field {_field_path(e['loc'])}: {e['msg']}" for e in exc.errors())
        raise SpecError(f"{origin}: {problems}") from None


def load_spec_file(path: Path) -> ModelSpec:
    return parse_spec(path.read_text(encoding="utf-8"), str(path))


def spec_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise SpecError(f"{folder}: not a folder of spec files")
    return sorted(folder.glob("*.json"))


def entry_for(spec: ModelSpec, origin: str, name: str | None = None) -> CatalogEntry:
    """`name`: the tool name when the catalog gave the model another than its plain one (a clash)."""
    rules = rules_for(spec)
    constraints = constraints_for(spec, rules)
    return CatalogEntry(
        name=name or tool_name(spec.owner, spec.project),
        spec=spec,
        rules=rules,
        input_schema=input_schema(spec, rules, constraints),
        description=tool_description(spec, rules, constraints),
        origin=origin,
        constraints=constraints,
    )


def build_catalog(
    paths: Iterable[Path], allow: Sequence[str] = (), reserved: Collection[str] = ()
) -> dict[str, CatalogEntry]:
    """Entries by tool name. Two files giving one tool name, or a file giving a `reserved` name (one of
    the server's own tools), is an error, never an overwrite."""
    catalog: dict[str, CatalogEntry] = {}
    for path in paths:
        entry = entry_for(load_spec_file(path), str(path))
        if entry.name in reserved:
            raise SpecError(f"{path}: tool name {entry.name!r} is taken by one of the server's own tools")
        if entry.name in catalog:
            raise SpecError(
                f"{path}: tool name {entry.name!r} clashes with {catalog[entry.name].origin} "
                f"(both are {entry.spec.slug!r} once lower-cased)"
            )
        catalog[entry.name] = entry
    return allowed(catalog, allow)


def allowed(catalog: dict[str, CatalogEntry], allow: Sequence[str]) -> dict[str, CatalogEntry]:
    """The entries whose tool names match one of the glob patterns (all of them when none are given)."""
    if not allow:
        return catalog
    return {n: e for n, e in catalog.items() if any(fnmatch.fnmatchcase(n, p) for p in allow)}


def load_catalog(
    extra_dirs: Sequence[Path] = (), allow: Sequence[str] = (), reserved: Collection[str] = ()
) -> dict[str, CatalogEntry]:
    paths = spec_files(bundled_dir())
    for folder in extra_dirs:
        paths += spec_files(folder)
    return build_catalog(paths, allow, reserved)
