"""`iredapi-ldap sudoers`: install the root helper and the sudoers drop-in that allows its verbs."""

from __future__ import annotations

import os
import pwd
from pathlib import Path

import click

from .. import config as cfg
from ..cli_support import config_options
from ..cli_support import resolve_config
from . import helper as mailhost_helper

DEFAULT_SUDOERS = "/etc/sudoers.d/iredapi-ldap"


def _config(config_path: str | None, data_dir: str | None) -> dict:
    """Return the API config (defaults plus the INI, if any), validated."""
    values = dict(cfg.DEFAULTS)
    path = resolve_config(config_path, data_dir)
    try:
        if path:
            values.update(cfg.load_ini(path))
        cfg.validate_mailhost(values)
    except cfg.ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    return values


@click.command("sudoers")
@click.option("--user", required=True, help="The system user the API (gunicorn) runs as.")
@click.option(
    "--output",
    default=DEFAULT_SUDOERS,
    show_default=True,
    type=click.Path(dir_okay=False),
    help="The drop-in to write (its name must have no dot, or sudo skips it).",
)
@click.option(
    "--install-helper",
    is_flag=True,
    help="Also copy the helper to [mailhost] helper_command and write [mailhost] helper_config "
    "if it does not exist.",
)
@click.option("--print", "print_only", is_flag=True, help="Check and print; write nothing.")
@config_options
def sudoers_command(user, output, install_helper, print_only, config_path, data_dir) -> None:
    """Write the sudoers drop-in that lets USER run the mail host helper's verbs as root."""
    values = _config(config_path, data_dir)
    runner = mailhost_helper.Helper.from_config(values)
    try:
        pwd.getpwnam(user)
        text = mailhost_helper.sudoers_text(user, runner)
    except KeyError as exc:
        raise click.ClickException(f"no such system user: {user}") from exc
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    if "." in Path(output).name:
        raise click.ClickException(f"{output}: sudo skips drop-ins whose name has a dot")
    if print_only:
        _check_text(text)
        click.echo(text, nl=False)
        return
    if os.geteuid() != 0:
        raise click.ClickException("run this as root (it writes root-owned files)")
    if install_helper:
        path = mailhost_helper.install_helper(runner.command[0])
        click.echo(f"installed the mail host helper as {path}")
        _write_helper_config(values)
    unsafe = mailhost_helper.unsafe_paths(runner.command[0])
    if runner.config_file:
        unsafe += mailhost_helper.unsafe_paths(runner.config_file)
    if unsafe:
        raise click.ClickException(
            "other users could replace what root would run: " + ", ".join(unsafe)
        )
    if not os.access(runner.command[0], os.X_OK):
        raise click.ClickException(
            f"{runner.command[0]} is missing; add --install-helper to install it"
        )
    try:
        mailhost_helper.write_sudoers(output, text)
    except (ValueError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"wrote {output} (checked with visudo -cf); verify with: sudo -l -U {user}")


def _check_text(text: str) -> None:
    import tempfile

    with tempfile.NamedTemporaryFile("w", prefix="iredapi-ldap-sudoers-") as handle:
        handle.write(text)
        handle.flush()
        try:
            mailhost_helper.check_sudoers(handle.name)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc


def _write_helper_config(values: dict) -> None:
    path = values["MAILHOST_HELPER_CONFIG"]
    if not path:
        return
    target = Path(path)
    if target.exists():
        click.echo(f"kept the existing helper config {target}")
        return
    target.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
    text = mailhost_helper.helper_config_text(
        values["MAILHOST_POSTFIX_CONFIG_DIR"], values["MAILHOST_SERVICE_BACKEND"]
    )
    with open(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644), "w") as out:
        out.write(text)
    click.echo(f"wrote the helper config {target}")
