"""``flask --app lms_plugin practice verify [--cadet USERNAME] [--files] [--checkpoint FILE]``,
``practice checkpoint --out FILE`` and ``practice rekey``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from lms_plugin.config import chain_keyring
from lms_plugin.core.errors import OperationError
from lms_plugin.extensions import db

practice_cli = AppGroup("practice", help="Practice records: the integrity check of the signed records.")

PROVES = (
    "Proves: no signed practice record (sign-off, review, countersignature, panel decision, correction) and no "
    "competency evidence row was changed, removed, inserted or reordered since it was sealed, by anyone who does "
    "not hold the chain key{checkpoint}.\n"
    "Cannot prove: that a record was true when it was signed; that nobody holding the chain key (its file, or "
    "this server while it runs) rewrote a chain{holder}; {rollback}that records never written (or written only "
    "in another system) are missing; that the attached files are unchanged unless --files is given."
)


@practice_cli.command("verify")
@click.option("--cadet", "username", default=None, help="Check one person (by username) instead of all.")
@click.option("--files/--no-files", default=False, help="Hash the attached files on disk again too.")
@click.option("--checkpoint", "checkpoint_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="A checkpoint written by 'practice checkpoint': no chain may be shorter or "
                                 "different up to it.")
def verify(username: str | None, files: bool, checkpoint_file: Path | None) -> None:
    """Recompute and check the seal of every cadet's chain of signed records and every person's chain of
    competency evidence; exit 1 if any chain is broken."""
    from lms_plugin.core.people import User
    from lms_plugin.practice.operations.integrity import check_checkpoint, verify_everything

    keyring = chain_keyring(current_app)
    checkpoint = None
    if checkpoint_file is not None:
        try:
            checkpoint = check_checkpoint(keyring, json.loads(checkpoint_file.read_text(encoding="utf-8")))
        except OperationError as error:  # before ValueError, which it is
            click.echo(f"{checkpoint_file}: {error.message}", err=True)
            sys.exit(2)
        except (ValueError, UnicodeDecodeError):
            click.echo(f"{checkpoint_file}: not a JSON file.", err=True)
            sys.exit(2)
    person_ids = None
    if username is not None:
        person = db.session.scalar(select(User).where(User.username == username.strip().lower()))
        if person is None:
            click.echo(f"No user {username!r}.", err=True)
            sys.exit(2)
        person_ids = [person.id]
    storage = None
    if files:
        configured = current_app.config.get("PRACTICE_FILES_DIR")
        storage = Path(configured) if configured else Path(current_app.instance_path) / "practice_files"
    reports = verify_everything(db.session, keyring, person_ids, storage, checkpoint)
    names = dict(db.session.execute(select(User.id, User.username).where(
        User.id.in_([r.cadet_id for r in reports]))).all()) if reports else {}
    broken = [r for r in reports if not r.ok]
    click.echo(f"Chain key {keyring.current} ({len(keyring.keys)} key(s) held).")
    if checkpoint is not None:
        click.echo(f"Checkpoint of {checkpoint['created_at']} ({len(checkpoint['chains'])} chains), signature valid.")
    for report in reports:
        state = "ok" if report.ok else "BROKEN"
        what = "signed records" if report.chain == "practice" else "evidence records"
        click.echo(f"{names.get(report.cadet_id, report.cadet_id)}: {report.records} {what}, "
                   f"head {report.last_mac[:16]}… {state}")
        for problem in report.problems:
            click.echo(f"    {problem}")
    if any(problem.code == "unknown-key" for report in broken for problem in report.problems):
        click.echo(f"Some seals name a key this installation does not hold: CHAIN_KEY_FILE "
                   f"({current_app.config['CHAIN_KEY_FILE']}) may be the wrong key file.")
    click.echo(f"{len(reports)} chains checked, {len(broken)} broken.")
    click.echo(PROVES.format(
        checkpoint=f"; and no chain was rewritten or cut short since the checkpoint of {checkpoint['created_at']}"
        if checkpoint else "",
        holder=" (a checkpoint kept elsewhere limits that to after the checkpoint)",
        rollback="that the chains were not all put back to an older state (pass a recent --checkpoint to rule "
                 "that out); " if checkpoint is None else ""))
    db.session.rollback()
    if broken:
        sys.exit(1)


@practice_cli.command("checkpoint")
@click.option("--out", "out", type=click.Path(dir_okay=False, writable=True, path_type=Path), required=True,
              help="Where to write the checkpoint (JSON); keep a copy outside this server.")
def checkpoint(out: Path) -> None:
    """Write a signed checkpoint of every chain (length and last seal), if every chain verifies."""
    from lms_plugin.practice.operations.integrity import make_checkpoint

    document, broken = make_checkpoint(db.session, chain_keyring(current_app))
    if broken:
        db.session.rollback()
        click.echo(f"{len(broken)} chains do not verify; no checkpoint written (run 'practice verify').", err=True)
        sys.exit(1)
    out.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    db.session.commit()
    click.echo(f"{out}: {len(document['chains'])} chains at {document['created_at']}, signed with key "
               f"{document['key_id']}.")


@practice_cli.command("rekey")
@click.option("--again", is_flag=True, default=False, help="Run although it ran before (e.g. after a restore).")
def rekey_command(again: bool) -> None:
    """Seal, once after upgrading, the chain links written before chains had a key."""
    from lms_plugin.practice.operations.integrity import rekey

    try:
        summary = rekey(db.session, chain_keyring(current_app), again=again)
    except OperationError as error:
        db.session.rollback()
        click.echo(str(error.message), err=True)
        sys.exit(2)
    db.session.commit()
    click.echo(f"Sealed with key {summary['key_id']}: {summary['practice_chains']} practice chains, "
               f"{summary['evidence_rows']} evidence records.")
    if summary["refused_cadets"]:
        click.echo(f"Left unsealed, their hashes do not verify (cadet ids): {summary['refused_cadets']}", err=True)
        sys.exit(1)
