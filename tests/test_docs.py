"""The docs say what the code does: every setting is in the settings table, the version moves with
the changelog, the README links only to files that exist."""

from __future__ import annotations

import re

from tests.conftest import REPO
from wiro_mcp import __version__
from wiro_mcp.settings import setting_variables


def test_every_setting_is_in_the_settings_table() -> None:
    table = (REPO / "docs" / "settings.md").read_text()
    names = setting_variables()
    assert {n for n in names if f"`{n}`" not in table} == set()


def test_the_version_is_the_changelogs_newest() -> None:
    changelog = (REPO / "CHANGELOG.md").read_text()
    newest = re.search(r"^## (\d+\.\d+\.\d+)", changelog, re.M)
    assert newest is not None and newest.group(1) == __version__
    assert f'version = "{__version__}"' in (REPO / "pyproject.toml").read_text()


def test_the_readme_links_only_to_what_exists_and_stays_short() -> None:
    readme = (REPO / "README.md").read_text()
    links = re.findall(r"\]\(((?!https?:)[^)]+)\)", readme)
    assert links and all((REPO / link.partition("#")[0]).exists() for link in links)
    for link in links:  # an anchor names a heading of that page (as GitHub makes its id)
        path, _, anchor = link.partition("#")
        if anchor:
            headings = re.findall(r"^#+ (.+)$", (REPO / path).read_text(), re.MULTILINE)
            assert anchor in {re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-") for h in headings}, link
    assert len(readme) < 12_000 and "OWNER" not in readme
