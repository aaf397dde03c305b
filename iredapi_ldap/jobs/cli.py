"""CLI front-end of the jobs: `bulk-update` runs one here with a progress bar; `jobs wait` follows one."""

from __future__ import annotations

import json
import time
from typing import Any

import click
from marshmallow import ValidationError

from ..cli_support import call
from ..cli_support import config_options
from ..cli_support import configured_app
from ..ldap import get_directory
from ..models.users import listing as users
from ..schemas.users import UsersBulkUpdateSchema
from ..sqlstore import get_store
from ..sqlstore.jobs import DONE
from ..sqlstore.jobs import FAILED
from .runner import get_runner
from .store import process_owner
from .store import public_view
from .work import BULK_UPDATE


class Bar:
    """A click progress bar created once the job knows its total."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.bar: Any = None
        self.shown = 0

    def update(self, done: int, total: int | None) -> None:
        """Move the bar to `done` of `total`."""
        if total is None:
            return
        if self.bar is None:
            self.bar = click.progressbar(length=total, label=self.label, show_pos=True)
            self.bar.__enter__()
        if done > self.shown:
            self.bar.update(done - self.shown)
            self.shown = done

    def close(self) -> None:
        """Finish the bar's line."""
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


def _outcome(row: dict[str, Any]) -> None:
    view = public_view(row)
    if view["state"] != "done":
        raise click.ClickException(f"job {view['id']} {view['state']}: {view['error']}")
    click.echo(f"job {view['id']} done: {json.dumps(view['result'])}")


@click.command("bulk-update")
@click.argument("domain")
@click.option(
    "--status", "account_status", type=click.Choice(["active", "disabled"]), help="accountStatus"
)
@click.option("--language", help="preferredLanguage, e.g. en_US ('' removes it)")
@click.option("--transport", help="mtaTransport ('' removes it, so the domain's applies)")
@config_options
def bulk_update_command(domain, account_status, language, transport, config_path, data_dir) -> None:
    """Change every user of DOMAIN, as PUT /api/users/<domain> does, with a progress bar.

    The work is a job in the SQL store like the API's: if this command is
    interrupted, a running API worker resumes it ([jobs] stale_seconds later).
    """
    given = {"accountStatus": account_status, "language": language, "transport": transport}
    try:
        values = UsersBulkUpdateSchema().load({k: v for k, v in given.items() if v is not None})
    except ValidationError as exc:
        raise click.ClickException(f"invalid options: {exc.messages}") from exc
    with configured_app(config_path, data_dir) as app:
        with app.app_context():
            call(lambda: users.check_bulk_values(get_directory(), domain, values, app.config))
        runner = get_runner(app)
        params = {"domain": domain, "values": values, "password": False}
        job_id = runner.submit(BULK_UPDATE, domain, params, "cli", start=False)
        click.echo(f"job {job_id}")
        bar = Bar(f"{domain}")
        try:
            row = runner.run(job_id, process_owner(), on_progress=bar.update)
        finally:
            bar.close()
    _outcome(row)


@click.group("jobs")
def jobs_group() -> None:
    """Background jobs (bulk updates, domain deletes) in the SQL store."""


@jobs_group.command("list")
@click.option("--state", type=click.Choice(["pending", "running", "done", "failed"]))
@config_options
def list_command(state, config_path, data_dir) -> None:
    """List the newest jobs."""
    with configured_app(config_path, data_dir) as app:
        rows, total = get_store(app).jobs.page(0, 50, state=state)
    for row in map(public_view, rows):
        done = f"{row['progress']}/{row['total'] if row['total'] is not None else '?'}"
        click.echo(f"{row['id']}  {row['state']:<8} {row['kind']:<18} {row['domain']:<30} {done}")
    click.echo(f"{total} job(s)")


@jobs_group.command("wait")
@click.argument("job_id")
@click.option("--timeout", default=0, type=int, help="Give up after this many seconds (0 = never).")
@config_options
def wait_command(job_id, timeout, config_path, data_dir) -> None:
    """Show a progress bar until a job is done (exit 1 if it failed)."""
    with configured_app(config_path, data_dir) as app:
        store = get_store(app).jobs
        deadline = time.monotonic() + timeout if timeout else None
        bar = Bar(job_id[:8])
        try:
            while True:
                row = store.get(job_id)
                if row is None:
                    raise click.ClickException(f"no such job: {job_id}")
                bar.update(row["progress"], row["total"])
                if row["state"] in (DONE, FAILED):
                    break
                if deadline is not None and time.monotonic() > deadline:
                    raise click.ClickException(
                        f"job {job_id} still {row['state']} after {timeout} s"
                    )
                time.sleep(0.2)
        finally:
            bar.close()
    _outcome(row)
