"""Settings, read once at start-up by the CLI and passed down. Secrets are SecretStr."""

from __future__ import annotations

import difflib
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_BASE_URL = "https://api.wiro.ai/v1"
DEFAULT_SOCKET_URL = "wss://socket.wiro.ai/v1"
DATABASE_SCHEMES = ("postgresql://", "postgres://")  # a journal on PostgreSQL
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def default_data_dir(xdg_data_home: str = "", local_app_data: str = "") -> Path:
    """The user's data directory for wiro-mcp (XDG on Linux, the platform's usual place elsewhere)."""
    if sys.platform == "win32":
        return Path(local_app_data or Path.home() / "AppData" / "Local") / "wiro-mcp"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "wiro-mcp"
    return Path(xdg_data_home or Path.home() / ".local" / "share") / "wiro-mcp"


def default_cache_dir(xdg_cache_home: str = "", local_app_data: str = "") -> Path:
    """The user's cache directory for wiro-mcp: what can be fetched again (the model catalog)."""
    if sys.platform == "win32":
        return Path(local_app_data or Path.home() / "AppData" / "Local") / "wiro-mcp" / "cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "wiro-mcp"
    return Path(xdg_cache_home or Path.home() / ".cache") / "wiro-mcp"


def variable_of(name: str) -> str:
    """The environment variable a setting is read from: its alias's first choice, else WIRO_MCP_NAME."""
    alias = Settings.model_fields[name].validation_alias
    return str(alias.choices[0]) if isinstance(alias, AliasChoices) else f"WIRO_MCP_{name.upper()}"


def setting_variables() -> set[str]:
    """Every `WIRO_*` variable a setting is read from (the platform's own, like XDG_DATA_HOME, aside)."""
    return {v for v in map(variable_of, Settings.model_fields) if v.startswith("WIRO_")}


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """`WIRO_*` variables that are no setting, each with a did-you-mean when one is close."""
    known = setting_variables()
    found: list[str] = []
    for name in sorted(n for n in environ if n.startswith("WIRO_") and n not in known):
        close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.75)
        found.append(f"{name} is not a setting" + (f"; did you mean {close[0]}?" if close else ""))
    return found


def _split(text: str, sep: str = ",") -> tuple[str, ...]:
    return tuple(p.strip() for p in text.split(sep) if p.strip())


class Settings(BaseSettings):
    """Every setting; the table in docs/settings.md lists the same names."""

    model_config = SettingsConfigDict(env_prefix="WIRO_MCP_", extra="ignore", populate_by_name=True)

    api_key: SecretStr | None = Field(default=None, validation_alias=AliasChoices("WIRO_API_KEY", "api_key"))
    api_secret: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("WIRO_API_SECRET", "api_secret")
    )
    api_base_url: str = Field(
        default=DEFAULT_BASE_URL, validation_alias=AliasChoices("WIRO_API_BASE_URL", "api_base_url")
    )

    wait_seconds: float = Field(default=45.0, ge=0, le=3600)
    on_cancel: Literal["kill", "detach"] = "kill"
    dedup_seconds: float = Field(default=300.0, ge=0)
    max_cost_usd: float | None = Field(default=None, ge=0)
    budget_usd: float | None = Field(default=None, ge=0)
    team_budget_usd: float | None = Field(default=None, ge=0)
    budget_period: Literal["day", "week", "month"] = "day"
    confirm_above_usd: float | None = Field(default=None, ge=0)
    unpriced_run_usd: float | None = Field(default=None, ge=0)
    socket_url: str = Field(
        default=DEFAULT_SOCKET_URL, validation_alias=AliasChoices("WIRO_SOCKET_URL", "socket_url")
    )
    follow: Literal["socket", "poll"] = "socket"
    socket_silence_seconds: float = Field(default=15.0, gt=0)
    # Wiro documents one task registration per socket connection; more is an opt-in, checked at run time.
    socket_tasks_per_connection: int = Field(default=1, ge=1, le=1000)
    poll_scale: float = Field(default=1.0, gt=0, le=1)
    request_timeout_seconds: float = Field(default=30.0, gt=0)

    catalog_dirs: str = ""
    tools: str = ""
    models: str = ""
    cache_dir: str = ""
    catalog_max_age_hours: float = Field(default=24.0, ge=0)

    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8765, ge=0, le=65535)
    http_token: SecretStr | None = None
    http_allowed_hosts: str = ""
    http_max_sessions: int = Field(default=200, ge=1, le=100_000)
    http_session_idle_seconds: float = Field(default=900.0, gt=0, le=86_400)
    http_drain_seconds: float = Field(default=1.0, ge=0, le=3600)
    oauth_issuer: str = ""
    public_url: str = ""
    state_keys: SecretStr | None = None

    image_preview: bool = True
    preview_beside_viewer: bool = False
    preview_max_bytes: int = Field(default=20_000_000, ge=0)

    journal: str = ""
    file_roots: str = ""
    max_file_mb: float = Field(default=100.0, gt=0)
    download_dir: str = ""
    download_max_mb: float = Field(default=2000.0, gt=0)

    # Where the platform keeps a user's data and caches: read with the rest, once, at start-up.
    xdg_data_home: str = Field(default="", validation_alias=AliasChoices("XDG_DATA_HOME", "xdg_data_home"))
    xdg_cache_home: str = Field(default="", validation_alias=AliasChoices("XDG_CACHE_HOME", "xdg_cache_home"))
    local_app_data: str = Field(default="", validation_alias=AliasChoices("LOCALAPPDATA", "local_app_data"))

    sandbox_seconds: float | None = Field(default=None, ge=0)
    sandbox_extra_models: int = Field(default=0, ge=0, le=100_000)
    log_level: str = "INFO"

    @field_validator("api_key", "api_secret", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        """A blank key or secret (an empty prompt in a client's settings) is no key or secret: a blank
        secret would switch signature mode on with an empty secret."""
        if isinstance(value, str) and not value.strip():
            return None
        if isinstance(value, SecretStr) and not value.get_secret_value().strip():
            return None
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        if value.upper() not in LOG_LEVELS:
            raise ValueError(f"{value!r} is not a log level; use one of {', '.join(LOG_LEVELS)}")
        return value.upper()

    @property
    def allowed_host_names(self) -> tuple[str, ...]:
        return _split(self.http_allowed_hosts)

    @property
    def oauth(self) -> bool:
        return bool(self.oauth_issuer or self.public_url)

    @property
    def state_key_list(self) -> tuple[bytes, ...]:
        """WIRO_MCP_STATE_KEYS: comma-separated secrets; the first signs, every one verifies."""
        text = self.state_keys.get_secret_value() if self.state_keys is not None else ""
        return tuple(k.encode() for k in _split(text))

    @property
    def catalog_paths(self) -> tuple[Path, ...]:
        return tuple(Path(p).expanduser() for p in _split(self.catalog_dirs, os.pathsep))

    @property
    def tool_patterns(self) -> tuple[str, ...]:
        return _split(self.tools)

    @property
    def model_patterns(self) -> tuple[str, ...]:
        return _split(self.models) or ("bundled",)

    @property
    def budget_seconds(self) -> float:
        return {"day": 86_400.0, "week": 7 * 86_400.0, "month": 30 * 86_400.0}[self.budget_period]

    @property
    def cache_path(self) -> Path:
        if self.cache_dir:
            return Path(self.cache_dir).expanduser()
        return default_cache_dir(self.xdg_cache_home, self.local_app_data)

    @property
    def journal_path(self) -> Path | str | None:
        """Where the journal is: a file, a PostgreSQL URL (kept as text), or None when it is off."""
        if self.journal.lower() in ("off", "none", "0", "false"):
            return None
        if self.journal.lower().startswith(DATABASE_SCHEMES):
            return self.journal
        if self.journal:
            return Path(self.journal).expanduser()
        return default_data_dir(self.xdg_data_home, self.local_app_data) / "tasks.sqlite3"

    @property
    def file_root_paths(self) -> tuple[Path, ...]:
        return tuple(Path(p).expanduser() for p in _split(self.file_roots, os.pathsep))

    @property
    def download_path(self) -> Path | None:
        return Path(self.download_dir).expanduser().resolve() if self.download_dir else None
