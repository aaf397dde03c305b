"""The `iredapi-ldap` command: serve, init-directory, create-admin, recount, purge-audit-log, sudoers (and the jobs commands)."""

from __future__ import annotations

import functools
import os
import secrets
import shlex
import signal
import sys
from pathlib import Path
from typing import Any

import click

from . import config as cfg
from .cli_support import DEFAULT_DATA_DIR
from .cli_support import build_app
from .cli_support import call
from .cli_support import config_options
from .cli_support import configured_app
from .embedded.postfix import PostfixNotInstalled
from .embedded.postfix import PostfixStartError
from .embedded.postfix import PrivatePostfix
from .embedded.postfix import check_postfix_installed
from .embedded.providers import EmbeddedProviders
from .embedded.slapd import EmbeddedSlapd
from .embedded.slapd import SlapdNotInstalled
from .embedded.slapd import SlapdStartError
from .embedded.slapd import check_installed
from .embedded.slapd_conf import unique_overlay_conf
from .embedded.slapd_conf import unique_overlay_ldif
from .embedded.supervisor import SlapdSupervisor
from .errors import AlreadyExists
from .jobs.cli import bulk_update_command
from .jobs.cli import jobs_group
from .ldap import get_directory
from .ldap.bootstrap import ensure_base_entries
from .mailhost import MailHostUnavailable
from .mailhost import require_mlmmj
from .mailhost import roothelper
from .mailhost.cli import sudoers_command
from .mailhost.helper import helper_config_text
from .models.admins.create import any_global_admin
from .models.admins.create import create_admin
from .models.counter_queue import get_counter_queue
from .models.counter_queue import recount_all
from .models.counter_queue import recount_domain
from .models.counters import COUNTED
from .passwords import generate_password
from .sqlstore import get_store

DEFAULT_ADMIN = "admin@localhost.localdomain"
ADMIN_PASSWORD_FILE = "admin-password.txt"
# Debian's slapd-config keeps the first (mdb) database here.
DEFAULT_CONFIG_DATABASE = "olcDatabase={1}mdb,cn=config"
# What the embedded default keeps in --data-dir besides the directory and the SQL store.
LOGIN_LIMITS_FILE = "login-limits.sqlite"
MLMMJ_SPOOL = "mlmmj"
MLMMJ_ARCHIVE = "mlmmj-archive"
POSTFIX_DIR = "postfix"
HELPER_CONFIG = "mailhost-helper.ini"


@click.group()
@click.version_option(package_name="iredapi-ldap")
def main() -> None:
    """REST admin API for iRedMail-style OpenLDAP mail hosts."""


@main.command()
@click.option(
    "--config", "config_path", type=click.Path(dir_okay=False), help="INI file to run with."
)
@click.option(
    "--data-dir",
    default=DEFAULT_DATA_DIR,
    show_default=True,
    type=click.Path(file_okay=False),
    help="Where the embedded directory, config.ini and SQLite store live.",
)
@click.option("--listen", default="127.0.0.1:8080", show_default=True, help="HOST:PORT to bind.")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
@click.option("--admin-email", default=None, help=f"First global admin (default {DEFAULT_ADMIN}).")
@click.option(
    "--admin-password", default=None, help="Its password (generated and printed once if absent)."
)
@click.option(
    "--replicas",
    default=1,
    show_default=True,
    type=click.IntRange(1, 2),
    help="Embedded directory servers: 2 starts two providers replicating each other (syncrepl).",
)
def serve(config_path, data_dir, listen, workers, admin_email, admin_password, replicas) -> None:  # fmt: skip
    """Run the API under gunicorn; without a config, on the embedded slapd in --data-dir."""
    explicit = config_path or cfg.config_path_from_env()
    if explicit:
        if replicas != 1:
            raise click.UsageError("--replicas applies to the embedded directory, not --config.")
        app = build_app(explicit, "--config" if config_path else f"${cfg.ENV_VAR}")
        _run_gunicorn(app, listen, workers)
        return
    try:
        check_installed()
    except SlapdNotInstalled as exc:
        raise click.ClickException(str(exc)) from exc
    data = Path(data_dir).resolve()
    data.mkdir(parents=True, exist_ok=True)
    if replicas > 1:
        directory: EmbeddedSlapd | EmbeddedProviders = EmbeddedProviders(data, count=replicas)
    else:
        directory = EmbeddedSlapd(data, durable=True)
    try:
        creds = directory.start()
    except SlapdStartError as exc:
        raise click.ClickException(f"Embedded slapd did not start: {exc}") from exc
    supervisor = _supervise(directory)
    postfix = None
    try:
        uris = directory.uris if isinstance(directory, EmbeddedProviders) else [creds.uri]
        ini = write_embedded_config(data, creds, " ".join(uris))
        app = build_app(str(ini))
        _ensure_first_admin(app, data, admin_email, admin_password)
        _warn_without_mlmmj(app)
        postfix = _start_private_postfix(app, data)
        click.echo(
            f"iredapi-ldap: embedded directory {' '.join(uris)} (suffix {creds.suffix}); "
            f"config {ini}"
        )
        click.echo(f"iredapi-ldap: listening on http://{listen}/api")
        try:
            _run_gunicorn(app, listen, workers)
        except SystemExit:
            if supervisor.failed is None:
                raise
        if supervisor.failed is not None:
            raise click.ClickException(f"the embedded directory failed: {supervisor.failed}")
    finally:
        supervisor.stop()
        if postfix is not None:
            postfix.stop()
        directory.stop()


def _supervise(directory: EmbeddedSlapd | EmbeddedProviders) -> SlapdSupervisor:
    """Watch the embedded slapd(s) and restart them; when that fails, stop serve (non-zero)."""

    def report(message: str) -> None:
        click.echo(f"iredapi-ldap: {message}", err=True)

    def give_up(_reason: str) -> None:
        # gunicorn's master stops its workers on SIGTERM and returns; serve then exits 1.
        os.kill(os.getpid(), signal.SIGTERM)

    supervisor = SlapdSupervisor(report, give_up)
    if isinstance(directory, EmbeddedProviders):
        for index, member in enumerate(directory.members):
            supervisor.watch(member, functools.partial(member.start, init_tree=index == 0))
    else:
        supervisor.watch(directory)
    supervisor.start()
    return supervisor


def write_embedded_config(data: Path, creds: Any, uri: str | None = None) -> Path:
    """Write DIR/config.ini for the embedded directory, keeping an existing secret key."""
    ini = data / "config.ini"
    values: dict[str, Any] = {}
    if ini.is_file():
        values = cfg.load_ini(ini)
    values.update(
        LDAP_URI=uri or creds.uri,
        LDAP_BIND_DN=creds.vmailadmin_dn,
        LDAP_BIND_PASSWORD=creds.vmailadmin_password,
        LDAP_SUFFIX=creds.suffix,
    )
    values.setdefault("SECRET_KEY", secrets.token_urlsafe(32))
    if "SQL_URL" in cfg.DEFAULTS:
        values.setdefault("SQL_URL", f"sqlite:///{data / 'iredapi-ldap.sqlite'}")
    if "IREDAPD_URL" in cfg.DEFAULTS:
        values.setdefault("IREDAPD_URL", f"sqlite:///{data / 'iredapd.sqlite'}")
    if "AMAVISD_URL" in cfg.DEFAULTS:
        values.setdefault("AMAVISD_URL", f"sqlite:///{data / 'amavisd.sqlite'}")
    # Absolute, so `iredapi-ldap recount --data-dir` shares the locks from any directory.
    values.setdefault("LDAP_COUNTER_LOCK_DIR", str(data / "counter-locks"))
    # One file for every worker's failed-login counts: the limits hold for the host.
    values.setdefault("RATE_LIMIT_STORAGE", f"sqlite:///{data / LOGIN_LIMITS_FILE}")
    # The mlmmj lists' spool (and archive) live here too, unless config.ini names a spool.
    if "MLMMJ_SPOOL_DIR" not in values:
        values["MLMMJ_SPOOL_DIR"] = str(data / MLMMJ_SPOOL)
        values.setdefault("MLMMJ_ARCHIVE_DIR", str(data / MLMMJ_ARCHIVE))
    if Path(values["MLMMJ_SPOOL_DIR"]) == data / MLMMJ_SPOOL:
        (data / MLMMJ_SPOOL).mkdir(mode=0o700, exist_ok=True)
    # The mail queue routes act on the private Postfix below the data dir, through the
    # helper run without sudo (the API user owns that instance), unless config.ini names one.
    if "MAILHOST_POSTFIX_CONFIG_DIR" not in values:
        postfix_etc = data / POSTFIX_DIR / "etc"
        helper_ini = data / HELPER_CONFIG
        helper_ini.write_text(helper_config_text(str(postfix_etc), "none"))
        helper_ini.chmod(0o644)
        values.update(
            MAILHOST_HELPER_COMMAND=shlex.join([sys.executable, "-I", roothelper.__file__]),
            MAILHOST_SUDO_COMMAND="",
            MAILHOST_HELPER_CONFIG=str(helper_ini),
            MAILHOST_POSTFIX_CONFIG_DIR=str(postfix_etc),
            MAILHOST_SERVICE_BACKEND="none",
        )
    cfg.write_ini(ini, values)
    return ini


def _start_private_postfix(app, data: Path) -> PrivatePostfix | None:
    """Start the private Postfix below the data dir when config.ini points the helper at it.

    Without Postfix (or without root, which Postfix's master needs) serve goes on and says
    so; the mail queue routes then answer 503 naming what is missing.
    """
    root = data / POSTFIX_DIR
    if app.config["MAILHOST_POSTFIX_CONFIG_DIR"] != str(root / "etc"):
        return None
    try:
        check_postfix_installed()
        data.chmod(data.stat().st_mode | 0o055)  # the postfix user must reach its directory
        return PrivatePostfix(root).start()
    except (PostfixNotInstalled, PostfixStartError, PermissionError) as exc:
        click.echo(f"iredapi-ldap: the private Postfix did not start: {exc}")
        click.echo("iredapi-ldap: until then, the /api/mailqueue routes answer 503.")
        return None


def _warn_without_mlmmj(app) -> None:
    """Say at start-up, not at the first list request, that mlmmj lists need the mlmmj package."""
    try:
        require_mlmmj(app.config["MLMMJ_BIN_DIR"], app.config["MLMMJ_SKEL_DIR"])
    except MailHostUnavailable as exc:
        click.echo(f"iredapi-ldap: {exc.detail}")
        click.echo("iredapi-ldap: until then, the /api/ml routes answer 503 MAILHOST_UNAVAILABLE.")


def _ensure_first_admin(app, data: Path, email: str | None, password: str | None) -> None:
    """Create the first global admin unless one exists; print a generated password once."""
    with app.app_context():
        directory = get_directory()
        if any_global_admin(directory):
            if email or password:
                click.echo("iredapi-ldap: a global admin exists already; --admin-* ignored.")
            return
        email = email or DEFAULT_ADMIN
        generated = password is None
        password = password or generate_password(16)
        try:
            create_admin(
                directory, email, password, is_global=True,
                scheme=app.config["DEFAULT_PASSWORD_SCHEME"],
            )  # fmt: skip
        except AlreadyExists:
            return
    if generated:
        secret = data / ADMIN_PASSWORD_FILE
        with open(os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as out:
            out.write(f"{email}\n{password}\n")
        click.echo(f"iredapi-ldap: created global admin {email} with password: {password}")
        click.echo(f"iredapi-ldap: (also stored in {secret}, mode 0600)")
    else:
        click.echo(f"iredapi-ldap: created global admin {email}")


def _run_gunicorn(app, listen: str, workers: int) -> None:
    """Serve the app with gunicorn in this process (no fork of the CLI itself)."""
    from gunicorn.app.base import BaseApplication

    class _Server(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", listen)
            self.cfg.set("workers", workers)
            # One thread per process (no GIL contention) that still keeps connections alive.
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("threads", 1)
            self.cfg.set("accesslog", "-")
            self.cfg.set("proc_name", "iredapi-ldap")
            # gunicorn >= 25 opens a control socket in ~/.gunicorn shared by every instance
            # of the same user; the API needs none.
            if "control_socket_disable" in self.cfg.settings:
                self.cfg.set("control_socket_disable", True)
            self.cfg.set("post_worker_init", post_worker_init)

        def load(self):
            return app

    def post_worker_init(_worker) -> None:
        # Each worker re-counts the domains every [ldap] counter_recount_seconds (one at a
        # time per host), also before it has served a request.
        get_counter_queue(app).start_upkeep()

    _Server().run()


@main.command("init-directory")
@config_options
@click.option(
    "--bind-dn", default=None, help="Bind as this DN instead of [ldap] bind_dn (e.g. the rootdn)."
)
@click.option("--bind-password", default=None, help="Password for --bind-dn.")
@click.option(
    "--show-uniqueness",
    type=click.Choice(["slapd.conf", "cn=config"]),
    default=None,
    help="Only print the slapd overlay that keeps addresses unique (slapd.conf lines or "
    "ldapmodify LDIF) for the configured suffix; change nothing.",
)
@click.option(
    "--config-database",
    default=DEFAULT_CONFIG_DATABASE,
    show_default=True,
    help="With --show-uniqueness cn=config: the cn=config entry of the suffix's database.",
)
def init_directory(
    config_path, data_dir, bind_dn, bind_password, show_uniqueness, config_database
) -> None:
    """Create the suffix, o=domains and o=domainAdmins on an existing server (idempotent)."""
    if show_uniqueness:
        with configured_app(config_path, data_dir) as app:
            suffix = app.config["LDAP_SUFFIX"]
        click.echo(uniqueness_config(show_uniqueness, suffix, config_database), nl=False)
        return
    overrides: dict[str, Any] = {}
    if bind_dn:
        overrides.update(LDAP_BIND_DN=bind_dn, LDAP_BIND_PASSWORD=bind_password or "")
    with configured_app(config_path, data_dir, **overrides) as app, app.app_context():
        added = call(lambda: ensure_base_entries(get_directory()))
    for dn in added:
        click.echo(f"added {dn}")
    click.echo("directory ready" if added else "directory already initialised; nothing changed")


def uniqueness_config(kind: str, suffix: str, config_database: str) -> str:
    """Return the slapo-unique set-up for an existing server, as slapd.conf lines or LDIF."""

    if kind == "slapd.conf":
        return unique_overlay_conf(suffix)
    return unique_overlay_ldif(suffix, config_database)


@main.command("create-admin")
@click.argument("email")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    envvar="IREDAPI_ADMIN_PASSWORD",
    help="The admin's password (prompted if absent; or $IREDAPI_ADMIN_PASSWORD).",
)
@click.option("--global", "is_global", is_flag=True, help="Make it a global admin.")
@config_options
def create_admin_command(email, password, is_global, config_path, data_dir) -> None:
    """Create a standalone admin (mailAdmin under o=domainAdmins)."""
    with configured_app(config_path, data_dir) as app, app.app_context():
        scheme = app.config["DEFAULT_PASSWORD_SCHEME"]
        dn = call(
            lambda: create_admin(
                get_directory(), email, password, is_global=is_global, scheme=scheme
            )
        )
    click.echo(f"created {dn}")


@main.command("recount")
@click.argument("domain", required=False)
@config_options
def recount_command(domain, config_path, data_dir) -> None:
    """Set the domain counters (users, quota, aliases, lists) from the directory: one domain or all."""
    with configured_app(config_path, data_dir) as app, app.app_context():
        directory = get_directory()
        if domain:
            results = {domain.lower(): call(lambda: recount_domain(directory, domain.lower(),
                                                                    create=COUNTED))}  # fmt: skip
        else:
            results = call(lambda: recount_all(directory, create=COUNTED))
    for name, (stored, real) in results.items():
        changed = [
            f"{counter} {stored[counter]} -> {value}"
            for counter, value in real.items()
            if stored[counter] != str(value)
        ]
        click.echo(f"{name}: " + ("; ".join(changed) if changed else "already right"))
    click.echo(f"re-counted {len(results)} domain(s)")


@main.command("purge-audit-log")
@click.option(
    "--keep-days",
    type=click.IntRange(min=1),
    default=None,
    help="Keep this many days (default: [sql] audit_keep_days).",
)
@config_options
def purge_audit_log_command(keep_days, config_path, data_dir) -> None:
    """Delete audit log rows older than N days (for cron)."""
    with configured_app(config_path, data_dir) as app:
        days = keep_days or app.config["SQL_AUDIT_KEEP_DAYS"]
        if days <= 0:
            raise click.ClickException(
                "Nothing to do: give --keep-days or set [sql] audit_keep_days."
            )
        deleted = call(lambda: get_store(app).audit.purge(days))
    click.echo(f"deleted {deleted} audit row(s) older than {days} day(s)")


main.add_command(bulk_update_command)
main.add_command(jobs_group)
main.add_command(sudoers_command)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
