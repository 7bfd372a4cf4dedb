"""`drift key generate --out KEYFILE`: a new Ed25519 key for signing."""

from __future__ import annotations

from pathlib import Path

import click

from drift.trust.keys import generate_key


@click.group()
def key() -> None:
    """Keys that sign inventories, catalogs and scans (Ed25519)."""


@key.command()
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="The private key file (mode 0600); the public key goes to KEYFILE.pub.")
@click.option("--comment", default="drift", show_default=True, help="The public key's comment (one word).")
def generate(out: Path, comment: str) -> None:
    """Write a new Ed25519 key pair; an existing file is never overwritten."""
    public = generate_key(out, comment)
    click.echo(f"{out}: private key (keep it secret)\n{out}.pub: {public.line} {comment}\nfingerprint {public.fingerprint}")
