"""The README cannot rot: its "your own product" walk-through runs as written and does what its text says,
its command synopses name only options that `--help` shows (and every visible one), and the CI example's
policy has no expired waiver."""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest

from drift.cli import main
from tests.test_cli import run

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
MARKER = "# drift walk-through"


def walkthrough() -> str:
    """The one shell block of the README whose first line is the marker."""
    blocks = re.findall(r"^```sh\n(.*?)^```$", README.read_text(encoding="utf-8"), flags=re.MULTILINE | re.DOTALL)
    found = [b for b in blocks if b.splitlines()[0] == MARKER]
    assert len(found) == 1, f"the README needs exactly one ```sh block starting with {MARKER!r}"
    return found[0]


def walkthrough_text() -> str:
    """The README's sentences right after the walk-through's block, up to the next section."""
    text = README.read_text(encoding="utf-8")
    after = text.split(walkthrough(), 1)[1]
    return after.split("\n## ", 1)[0]


def drift_bin() -> str:
    """The folder of the installed `drift` script."""
    found = shutil.which("drift") or str(Path(sys.executable).parent / "drift")
    assert Path(found).exists(), "drift is not installed: pip install -e '.[test]'"
    return str(Path(found).parent)


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_the_walkthrough_runs_as_written_and_does_what_it_says(tmp_path):
    script = tmp_path / "walkthrough.sh"
    script.write_text(walkthrough(), encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    identity = {f"GIT_{who}_{what}": value for who in ("AUTHOR", "COMMITTER") for what, value in (("NAME", "Walker"), ("EMAIL", "w@example.org"))}
    env = {
        "PATH": os.pathsep.join([drift_bin(), os.environ.get("PATH", "")]), "HOME": str(tmp_path), "LANG": "C.UTF-8",
        "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, **identity,
    }
    # -e: any step that fails (but the gate, whose exit code the block shows) fails the walk-through.
    done = subprocess.run(["bash", "-e", "-o", "pipefail", str(script)], cwd=work, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    said = walkthrough_text()

    # The gate: what the text says it prints, and its exit code.
    assert "drift gate: BLOCKED: 1 of 2 tenants blocks" in done.stdout and "`BLOCKED: 1 of 2 tenants blocks`" in said
    assert "gate exit code: 1" in done.stdout.splitlines() and "`gate exit code: 1`" in said
    assert "131211" in said and "MYAPP-1" in said

    # The CSV: one row per tenant, 要対応 as the text says, times in Japan time.
    rows = list(csv.reader(io.StringIO((work / "agency.csv").read_bytes().decode("utf-8-sig"), newline="")))
    table = {r[0]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    assert sorted(table) == ["131211", "402206"]
    assert (table["131211"]["団体名"], table["131211"]["未適用件数"], table["131211"]["要対応"]) == ("足立区", "1", "はい")
    assert (table["402206"]["団体名"], table["402206"]["適用済み件数"], table["402206"]["要対応"]) == ("宗像市", "1", "いいえ")
    assert "131211 with 要対応 はい, 402206 with いいえ" in said
    for row in table.values():
        assert row["スキャン日時"].endswith("+09:00") and row["収集日時"].endswith("+09:00")
    assert "`+09:00`" in said


def readme_commands() -> list[str]:
    """The lines of the README's Commands block."""
    text = README.read_text(encoding="utf-8").split("\n## Commands\n", 1)[1]
    block = text.split("```sh\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.startswith("drift ")]


def command_of(line: str) -> tuple[tuple[str, ...], click.Command]:
    """The command a synopsis line shows (`drift export csv ...` → export csv)."""
    command: click.Command = main
    path: list[str] = []
    context = click.Context(main)
    for word in line.split()[1:]:
        found = command.get_command(context, word) if isinstance(command, click.Group) else None
        if found is None:
            break
        command, path = found, [*path, word]
    return tuple(path), command


COMMON = {"--catalog", "--inventory", "--db", "--jobs"}
"""Where the inputs and the database are, and how many workers: the synopsis of a command that only reads
them may leave them out (each defaults to the folder the reference fleet uses)."""
NOT_IN_SYNOPSIS = {("catalog", "build"): {"--artifact-source"}}
"""Visible options a synopsis line leaves out for length; the command's bullet list documents each."""


@pytest.mark.parametrize("line", readme_commands(), ids=lambda line: " ".join(line.split()[1:3]))
def test_every_option_of_a_readme_synopsis_is_in_the_commands_help(line, tmp_path):
    path, command = command_of(line)
    assert path, f"no such command: {line}"
    shown = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", line))
    helped = run(tmp_path, *path, "--help")
    assert helped.exit_code == 0
    listed = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", helped.stdout))
    assert shown <= listed, f"{' '.join(path)}: the README shows {sorted(shown - listed)}, which --help does not"
    # The reverse: every visible option is in the synopsis, but for the shared locations and the gaps named above.
    visible = {o for p in command.params if isinstance(p, click.Option) and not p.hidden for o in p.opts if o.startswith("--")}
    missing = visible - shown - {"--help"} - NOT_IN_SYNOPSIS.get(path, set())
    if path in {("export", "csv"), ("report", "html"), ("scan",), ("collect",)}:
        assert not missing, f"{' '.join(path)}: --help has {sorted(missing)}, which the README synopsis lacks"
    else:
        assert missing <= COMMON, f"{' '.join(path)}: --help has {sorted(missing - COMMON)}, which the README synopsis lacks"


def test_every_command_is_in_the_readme_synopsis():
    def leaves(group: click.Group, prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
        context = click.Context(group)
        found: set[tuple[str, ...]] = set()
        for name in group.list_commands(context):
            command = group.get_command(context, name)
            if isinstance(command, click.Group):
                found |= leaves(command, (*prefix, name))
            elif name != "help":
                found.add((*prefix, name))
        return found

    assert leaves(main) == {command_of(line)[0] for line in readme_commands()}


def test_drift_help_is_the_commands_help(tmp_path):
    direct = run(tmp_path, "export", "csv", "--help").stdout.replace("Usage: main ", "Usage: drift ", 1)  # CliRunner's program name
    assert run(tmp_path, "help", "export", "csv").stdout == direct
    assert "--timezone ZONE" in direct and "--policy FILE" in direct


def test_the_ci_example_policy_has_no_expired_waiver_on_the_reference_fleet(tmp_path):
    result = run(tmp_path, "gate", "--policy", str(ROOT / "examples" / "ci" / "drift-policy.yaml"), "--catalog", str(ROOT / "manifests"),
                 "--inventory", str(ROOT / "inventory"), "--jobs", "2")
    assert result.exit_code == 1, result.output  # the reference fleet blocks: 44 tenants
    assert "expired waiver" not in result.stdout
    assert "waived: 1 finding at 1 tenant" in result.stdout
    assert "  362018 KOFU-2023-0511 missing: until 2031-03-31" in result.stdout
