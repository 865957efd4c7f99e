"""Command line, through Flask's: ``flask --app lms_plugin <group> <command>``."""

from __future__ import annotations

from flask import Flask


def register_cli(app: Flask) -> None:
    from lms_plugin.cli.backup import backup_command, restore_command
    from lms_plugin.cli.demo import demo_cli
    from lms_plugin.framework.cli import framework_cli
    from lms_plugin.jobs.cli import jobs_cli
    from lms_plugin.people.cli import users_cli
    from lms_plugin.practice.cli import practice_cli
    from lms_plugin.privacy.cli import retention_cli

    for group in (demo_cli, users_cli, framework_cli, practice_cli, jobs_cli, retention_cli, backup_command,
                  restore_command):
        app.cli.add_command(group)
