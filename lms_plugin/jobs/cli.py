"""``flask jobs worker``: run queued jobs in this process (with a shared broker, on any machine)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

jobs_cli = AppGroup("jobs", help="The background job runner.")


@jobs_cli.command("worker")
@click.option("--until-idle", is_flag=True, help="Stop once the queue is empty (for scripts).")
def worker(until_idle: bool) -> None:
    """Take jobs off the queue and run them until stopped (Ctrl+C)."""
    runner = current_app.extensions["jobs"]
    click.echo("job worker: waiting for jobs (Ctrl+C to stop)")
    try:
        runner.work(stop_when_idle=until_idle)
    except KeyboardInterrupt:
        runner.stop()
