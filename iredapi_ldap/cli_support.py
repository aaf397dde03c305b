"""What the CLI commands share: the --config/--data-dir options, the app built from them, errors."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from flask import Flask

from . import config as cfg
from . import create_app
from . import sqlstore
from .errors import ApiError
from .ldap import get_pool

DEFAULT_DATA_DIR = "./var"


def config_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """Add --config and --data-dir (which holds config.ini when --config is not given)."""
    function = click.option(
        "--data-dir", default=DEFAULT_DATA_DIR, type=click.Path(file_okay=False)
    )(function)
    return click.option("--config", "config_path", type=click.Path(dir_okay=False))(function)


def resolve_config(config_path: str | None, data_dir: str | None) -> str | None:
    """Return the INI to use: --config, then $IREDAPI_LDAP_CONFIG, then DIR/config.ini."""
    if config_path:
        return config_path
    if cfg.config_path_from_env():
        return cfg.config_path_from_env()
    candidate = Path(data_dir or DEFAULT_DATA_DIR) / "config.ini"
    return str(candidate) if candidate.is_file() else None


def build_app(
    config_path: str, given_by: str = "--config", overrides: dict[str, Any] | None = None
) -> Flask:
    """Build the app from an INI file, turning configuration errors into a clean CLI failure."""
    try:
        return create_app(overrides, config_file=config_path, given_by=given_by)
    except cfg.ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


@contextmanager
def configured_app(
    config_path: str | None, data_dir: str | None, **overrides: Any
) -> Iterator[Flask]:
    """Build the app from the options; close its LDAP and SQL connections after."""
    path = resolve_config(config_path, data_dir)
    if not path:
        raise click.ClickException("No configuration: give --config or set $IREDAPI_LDAP_CONFIG.")
    app = build_app(path, overrides=overrides or None)
    try:
        yield app
    finally:
        get_pool(app).close_all()
        sqlstore.dispose(app)


def call(action: Callable[[], Any]) -> Any:
    """Run a directory or store action, turning API errors into a clean CLI failure."""
    try:
        return action()
    except ApiError as exc:
        detail = exc.detail
        if exc.errors:
            detail += " " + "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.errors.items())
        raise click.ClickException(f"{exc.code}: {detail}") from exc
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
