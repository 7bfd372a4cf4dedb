"""`drift catalog`: work with the fix catalog."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path

import click

from drift.catalog import load_catalog
from drift.catalog.builder.assemble import Options
from drift.catalog.builder.assemble import build as build_catalog
from drift.catalog.builder.register import load_register
from drift.catalog.builder.repo import Repository
from drift.catalog.builder.report import render_report
from drift.catalog.builder.writer import write_catalog
from drift.catalog.load import module_problem
from drift.cli.options import catalog_option
from drift.trust.catalogs import sign_catalog
from drift.trust.keys import SigningKey, load_signing_key


def sign_options(command: Callable[..., None]) -> Callable[..., None]:
    """--sign KEYFILE, --catalog-version N and --expires DATE: the vendor vouching for a catalog."""
    command = click.option("--expires", type=click.DateTime(formats=["%Y-%m-%d"]), metavar="YYYY-MM-DD",
                           help="The last day the signature vouches for the catalog.")(command)
    command = click.option("--catalog-version", "catalog_version", type=click.IntRange(1, 2**53), metavar="N",
                           help="The catalog's version number: a scan refuses one lower than it has judged with.")(command)
    return click.option("--sign", "key_path", type=click.Path(path_type=Path, dir_okay=False), metavar="KEYFILE",
                        help="Sign the catalog with this Ed25519 key (catalog.sig).")(command)


@click.group()
def catalog() -> None:
    """Work with the fix catalog (catalog.yaml, releases/, fixes/)."""


@catalog.command()
@catalog_option
def validate(catalog_dir: Path) -> None:
    """Check every catalog file; exit 2 naming the file and field of the first error."""
    loaded = load_catalog(catalog_dir)
    releases = len(loaded.releases)
    click.echo(
        f"{catalog_dir}: valid: product {loaded.product}, lines {', '.join(loaded.lines)}, "
        f"{releases} releases, {len(loaded.fixes)} fixes\ndigest {loaded.digest}"
    )


@catalog.command()
@click.option("--repo", "repo_path", type=click.Path(path_type=Path, file_okay=False), required=True, help="The product's git repository.")
@click.option("--fixes", "fixes_path", type=click.Path(path_type=Path, dir_okay=False), required=True, help="The fix register (FIXES.yaml).")
@click.option("--include", "includes", multiple=True, required=True, metavar="GLOB", help="Repository paths that are deployed (repeatable).")
@click.option("--tags", "tags_pattern", default=r"^v?\d", show_default=True, metavar="REGEX", help="Tags that are releases.")
@click.option("--line-of", "line_rules", multiple=True, required=True, metavar="REGEX=LINE", help="The line of the tags a pattern finds (first rule wins).")
@click.option("--map", "maps", multiple=True, metavar="SRC=DST", help="Rewrite a repository path prefix into the deployed one.")
@click.option(
    "--module", "module_rules", multiple=True, metavar="GLOB=NAME",
    help="Files whose deployed path (after --map) the glob matches ship with module NAME (repeatable, first rule wins).",
)
@click.option("--artifacts", type=click.Path(path_type=Path, file_okay=False), help="One folder per release version with its built outputs.")
@click.option(
    "--artifact-source", "artifact_sources", multiple=True, metavar="GLOB=ARTIFACT",
    help="Repository paths (GLOB) built into an --artifacts output (ARTIFACT, a glob too): only fixes changing them get it (repeatable).",
)
@click.option("--pre-releases", is_flag=True, help="Take pre-release tags (rc, beta, ...) as releases too.")
@click.option("--product", help="The product's name (default: the repository folder's name).")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), required=True, help="The catalog folder to write (replaced whole).")
@sign_options
def build(
    repo_path: Path, fixes_path: Path, includes: tuple[str, ...], tags_pattern: str, line_rules: tuple[str, ...],
    maps: tuple[str, ...], module_rules: tuple[str, ...], artifacts: Path | None, artifact_sources: tuple[str, ...], pre_releases: bool, product: str | None, out: Path,
    key_path: Path | None, catalog_version: int | None, expires: dt.datetime | None,
) -> None:
    """Build the catalog from the repository's release tags and the fix register."""
    key = _signing(key_path, catalog_version, expires, required=False)
    options = Options(
        includes=includes,
        line_rules=tuple((_pattern(regex, "--line-of"), line) for regex, line in (_pair(rule, "--line-of") for rule in line_rules)),
        tags=_pattern(tags_pattern, "--tags"),
        maps=tuple(_pair(rule, "--map") for rule in maps),
        artifacts=artifacts,
        pre_releases=pre_releases,
        product=product or repo_path.resolve().name,
        modules=tuple(_module_rule(rule) for rule in module_rules),
        artifact_sources=tuple(_pair(rule, "--artifact-source", "GLOB=ARTIFACT") for rule in artifact_sources),
    )
    if artifact_sources and artifacts is None:
        raise click.UsageError("--artifact-source needs --artifacts DIR")
    register = load_register(fixes_path)
    built = build_catalog(Repository(repo_path), register, options, fixes_path)
    write_catalog(built, out)
    click.echo(render_report(built, out), err=True, nl=False)
    if key is not None:
        _sign(out, key, catalog_version, expires)


@catalog.command()
@catalog_option
@sign_options
def sign(catalog_dir: Path, key_path: Path | None, catalog_version: int | None, expires: dt.datetime | None) -> None:
    """Sign a catalog (one written by hand, say) with the vendor's key: catalog.sig in its folder."""
    key = _signing(key_path, catalog_version, expires, required=True)
    assert key is not None
    _sign(catalog_dir, key, catalog_version, expires)


def _signing(key_path: Path | None, version: int | None, expires: dt.datetime | None, *, required: bool) -> SigningKey | None:
    """The vendor's key when signing was asked for; --catalog-version and --expires go with it."""
    if key_path is None:
        if required:
            raise click.UsageError("--sign KEYFILE is required")
        if version is not None or expires is not None:
            raise click.UsageError("--catalog-version and --expires need --sign KEYFILE")
        return None
    if version is None or expires is None:
        raise click.UsageError("signing a catalog needs --catalog-version N and --expires YYYY-MM-DD")
    return load_signing_key(key_path)


def _sign(root: Path, key: SigningKey, version: int | None, expires: dt.datetime | None) -> None:
    assert version is not None and expires is not None
    signed = sign_catalog(root, load_catalog(root), key, version=version, expires=expires.date())
    click.echo(f"{signed}: catalog version {version}, expires {expires.date().isoformat()}, signed by {key.public.fingerprint}", err=True)


def _pair(rule: str, option: str, shape: str = "LEFT=RIGHT") -> tuple[str, str]:
    """`LEFT=RIGHT`, split at the last `=`; only a --map may have an empty right side (strip the prefix)."""
    left, sep, right = rule.rpartition("=")
    if not sep or not left or (not right and option != "--map"):
        raise click.BadParameter(f"{rule!r}: expected {shape}", param_hint=option)
    return left, right


def _module_rule(rule: str) -> tuple[str, str]:
    """`GLOB=NAME`, split at the last `=`, with a NAME a release manifest accepts as a module."""
    glob, name = _pair(rule, "--module", "GLOB=NAME")
    problem = module_problem(name)
    if problem is not None:
        raise click.BadParameter(f"{rule!r}: {problem}", param_hint="--module")
    return glob, name


def _pattern(regex: str, option: str) -> re.Pattern[str]:
    try:
        return re.compile(regex)
    except re.error as exc:
        raise click.BadParameter(f"{regex!r}: {exc}", param_hint=option) from exc
