"""The bundled catalog: one JSON spec per Wiro model. This file only makes the folder a package, so
that the specs ship inside the wheel as real files (see pyproject.toml)."""
