"""`drift collect` (SPEC 4, 9): a tenant's deploy root hashed into an inventory that reads back and verifies."""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import io
import os
import shutil
import stat
import struct
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

import drift.atomic
import drift.collect.run
import drift.collect.workers
from drift.cli import main
from drift.collect import collect
from drift.collect.archive import content_sha256_bytes
from drift.errors import InputError, OperationalError
from drift.inventory.jsonfile import read_json_inventory
from drift.inventory.model import ConfigValue, Inventory
from tests.builders import make_jar

MANIFESTS = Path(__file__).resolve().parents[1] / "manifests"  # the demo catalog: its config checks read conf/print.properties
NOW = dt.datetime(2023, 6, 14, 10, 30, tzinfo=dt.timezone(dt.timedelta(hours=9)))  # 01:30 UTC
JAR = make_jar({"com/kofu/print/IssueJob.class": b"\xca\xfe\xba\xbe fixed", "kofu.properties": b"v=8.2.1\n"})
SECRET = "Hunter2-S3cr3t-Value"
YAML_SECRET = "YamlToken-Secret-42"
PROPERTIES = f"print.lock.release_on_timeout=false\ndb.password={SECRET}\n"
YAML = f"print:\n  mode: strict\napi:\n  token: {YAML_SECRET}\n"
SOURCES = {
    "app/print/IssueJob.java": b"class IssueJob { /* fixed */ }\n",
    "app/print/deep/a/b/Util.java": b"class Util {}\n",
    "web/\u7a93\u53e3/index.jsp": "<%-- \u7a93\u53e3 --%>\n".encode(),
    "README": b"",
}
KEYS = {
    ("conf/print.properties", "print.lock.release_on_timeout"),
    ("conf/print.properties", "print.lock.unset"),
    ("conf/app.yaml", "print.mode"),
}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def put(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    """A small deploy root: sources in nested folders, a jar, config files, logs."""
    base = tmp_path / "deploy"
    for rel, data in SOURCES.items():
        put(base / rel, data)
    put(base / "lib/kofu-print.jar", JAR)
    put(base / "conf/print.properties", PROPERTIES)
    put(base / "conf/app.yaml", YAML)
    put(base / "logs/app.log", "2023-06-14 started\n")
    put(base / "logs/2023/06/old.log", "old\n")
    put(base / "app/logs/print.log", "printing\n")
    return base


def expected_files() -> dict[str, bytes]:
    return {
        **SOURCES,
        "lib/kofu-print.jar": JAR,
        "conf/print.properties": PROPERTIES.encode(),
        "conf/app.yaml": YAML.encode(),
        "logs/app.log": b"2023-06-14 started\n",
        "logs/2023/06/old.log": b"old\n",
        "app/logs/print.log": b"printing\n",
    }


def read_back(text: str, folder: Path, tenant: str = "402206") -> Inventory:
    path = folder / f"{tenant}.json"
    path.write_text(text, encoding="utf-8")
    return read_json_inventory(path)


def test_collect_writes_an_inventory_that_reads_back_with_sizes_and_hashes(root: Path, tmp_path: Path) -> None:
    result = collect(root, "402206", config_keys=KEYS, now=NOW)
    inventory = read_back(result.text, tmp_path)

    assert inventory.tenant == "402206"
    assert inventory.collected_at == "2023-06-14T01:30:00Z"
    assert inventory.digest.startswith("sha256:")
    assert inventory.unreadable == {}
    files = expected_files()
    assert set(inventory.files) == set(files)
    for rel, data in files.items():
        record = inventory.files[rel]
        assert record.size == len(data), rel
        assert record.sha256 == sha(data), rel
    assert inventory.files["lib/kofu-print.jar"].content_sha256 == content_sha256_bytes(JAR)
    assert all(inventory.files[rel].content_sha256 is None for rel in files if rel != "lib/kofu-print.jar")
    assert result.files == len(files) and result.unreadable == 0 and result.skipped == 0 and result.links == 0


def test_only_the_asked_for_config_keys_are_captured(root: Path, tmp_path: Path) -> None:
    keys = KEYS | {("conf/absent.properties", "x")}
    result = collect(root, "402206", config_keys=keys, now=NOW)
    inventory = read_back(result.text, tmp_path)

    assert sorted(inventory.config.values(), key=lambda c: (c.file, c.key)) == [
        ConfigValue("conf/app.yaml", "print.mode", "strict"),
        ConfigValue("conf/print.properties", "print.lock.release_on_timeout", "false"),
        ConfigValue("conf/print.properties", "print.lock.unset", None),
    ]
    assert all(key == (value.file, value.key) for key, value in inventory.config.items())
    assert '"value": null' in result.text
    for leaked in (SECRET, YAML_SECRET, "db.password", "api.token", "token"):
        assert leaked not in result.text


def test_without_config_keys_no_config_value_leaves_the_tenant(root: Path) -> None:
    text = collect(root, "402206", now=NOW).text
    assert '"config": []' in text
    assert "\"false\"" not in text and "strict" not in text and SECRET not in text


def test_a_config_file_that_does_not_parse_is_hashed_but_gives_no_value(root: Path, tmp_path: Path) -> None:
    put(root / "conf/app.yaml", f"print: [mode: strict\napi: {YAML_SECRET}\n")
    inventory = read_back(collect(root, "402206", config_keys=KEYS, now=NOW).text, tmp_path)
    assert ("conf/app.yaml", "print.mode") not in inventory.config
    assert "conf/app.yaml" in inventory.files
    assert inventory.config[("conf/print.properties", "print.lock.release_on_timeout")].value == "false"


def test_a_symlink_is_recorded_with_its_target_and_never_followed(root: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    other_jar = make_jar({"com/kofu/print/IssueJob.class": b"\xca\xfe\xba\xbe other build"})
    put(outside / "kofu-print-patched.jar", other_jar)
    put(outside / "vendor/secret.txt", "outside the root")
    os.symlink(outside / "kofu-print-patched.jar", root / "lib/kofu-print-link.jar")
    os.symlink(outside / "vendor", root / "vendor")
    os.symlink("IssueJob.java", root / "app/print/Alias.java")

    result = collect(root, "402206", now=NOW)
    inventory = read_back(result.text, tmp_path)

    link = inventory.links["lib/kofu-print-link.jar"]
    assert (link.target, link.outside) == (str(outside / "kofu-print-patched.jar"), True)
    assert (inventory.links["app/print/Alias.java"].target, inventory.links["app/print/Alias.java"].outside) == ("IssueJob.java", False)
    assert inventory.links["vendor"].outside
    assert not any(p.startswith("vendor/") for p in inventory.files)
    assert "lib/kofu-print-link.jar" not in inventory.files and "lib/kofu-print-link.jar" not in inventory.unreadable
    assert content_sha256_bytes(other_jar) not in result.text
    assert sha(other_jar) not in result.text
    assert (result.links, result.unreadable) == (3, 0)


def test_a_fifo_is_skipped_without_blocking(root: Path, tmp_path: Path) -> None:
    (root / "run").mkdir()
    os.mkfifo(root / "run/print.fifo")
    result = collect(root, "402206", now=NOW)
    inventory = read_back(result.text, tmp_path)
    assert result.skipped == 1
    assert inventory.skipped["run/print.fifo"].kind == "fifo"
    assert "run/print.fifo" not in inventory.files and "run/print.fifo" not in inventory.unreadable


def test_an_unreadable_file_is_listed_with_the_reason(root: Path, tmp_path: Path) -> None:
    locked = root / "conf/print.properties"
    locked.chmod(0)
    try:
        if os.access(locked, os.R_OK):
            pytest.skip("running as root (or with CAP_DAC_OVERRIDE): a chmod 000 file is still readable")
        result = collect(root, "402206", config_keys=KEYS, now=NOW)
    finally:
        locked.chmod(0o644)
    inventory = read_back(result.text, tmp_path)
    assert "conf/print.properties" not in inventory.files
    assert "cannot read" in inventory.unreadable["conf/print.properties"].reason
    assert SECRET not in result.text


def test_a_folder_that_cannot_be_listed_is_unreadable_and_the_rest_collected(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Simulated (root may list any folder): permission denied on listing one folder.
    real_scandir = os.scandir
    denied = (root / "app/print/deep").stat().st_ino

    def scandir(path):  # type: ignore[no-untyped-def]
        # The folder is listed through a descriptor (drift.collect.walk), or by path in the fallback.
        if os.stat(path).st_ino == denied:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(drift.collect.run.os, "scandir", scandir)
    inventory = read_back(collect(root, "402206", now=NOW).text, tmp_path)
    assert "cannot list folder" in inventory.unreadable["app/print/deep"].reason
    assert "app/print/IssueJob.java" in inventory.files
    assert not any(p.startswith("app/print/deep/") for p in inventory.files)


def test_a_root_that_cannot_be_listed_is_an_error_not_an_empty_inventory(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def scandir(path):  # type: ignore[no-untyped-def]
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(drift.collect.run.os, "scandir", scandir)
    with pytest.raises(OperationalError, match="cannot list folder"):
        collect(root, "402206", now=NOW)


@pytest.mark.parametrize("patterns", [("logs",), ("logs/",), ("logs/*",)])
def test_exclude_drops_a_logs_folder(root: Path, tmp_path: Path, patterns: tuple[str, ...]) -> None:
    inventory = read_back(collect(root, "402206", excludes=patterns, now=NOW).text, tmp_path)
    assert not any(p.startswith("logs/") for p in inventory.files)
    assert "app/logs/print.log" in inventory.files
    assert "lib/kofu-print.jar" in inventory.files


def test_exclude_globs_reach_nested_folders_and_file_names(root: Path, tmp_path: Path) -> None:
    inventory = read_back(collect(root, "402206", excludes=("logs", "*/logs"), now=NOW).text, tmp_path)
    assert not any("logs/" in p for p in inventory.files)
    inventory = read_back(collect(root, "402206", excludes=("*.log",), now=NOW).text, tmp_path)
    assert not any(p.endswith(".log") for p in inventory.files)
    assert set(inventory.files) == {p for p in expected_files() if not p.endswith(".log")}


def _bytes_file(folder: Path, name: bytes, data: bytes) -> None:
    fd = os.open(os.fsencode(folder) + b"/" + name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def _recordable(path: str) -> bool:
    """A path an inventory can hold: valid UTF-8, no backslash, no control character."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\\" not in path and not any(ord(c) < 0x20 or ord(c) == 0x7F for c in path)


def test_non_utf8_file_names_are_unreadable_with_an_escaped_path_and_the_inventory_reads_back(root: Path, tmp_path: Path) -> None:
    _bytes_file(root / "conf", b"print-\xff\xfe.properties", b"secret=1\n")
    os.mkdir(os.fsencode(root / "app") + b"/legacy-\x82\xa0")  # Shift_JIS bytes in a folder name
    _bytes_file(Path(os.fsdecode(os.fsencode(root / "app") + b"/legacy-\x82\xa0")), b"Old.java", b"class Old {}\n")

    result = collect(root, "402206", now=NOW)
    result.text.encode("utf-8")  # valid UTF-8 throughout
    inventory = read_back(result.text, tmp_path)

    escaped = [p for p in inventory.unreadable if p.startswith(("conf/print-", "app/legacy-"))]
    assert len(escaped) == 2, inventory.unreadable
    for path in escaped:
        assert _recordable(path)
        assert "UTF-8" in inventory.unreadable[path].reason
    assert escaped[0] != escaped[1]
    # Nothing under the undecodable folder is passed off as a regular file under a made-up name.
    assert not any(p.startswith("app/legacy-") for p in inventory.files)
    assert set(inventory.files) == set(expected_files())


def test_names_with_a_backslash_or_a_newline_do_not_break_the_inventory(root: Path, tmp_path: Path) -> None:
    put(root / "conf/print\\backup.properties", "x=1\n")
    put(root / "conf/new\nline.txt", "x\n")
    put(root / "c:odd.txt", "x\n")
    inventory = read_back(collect(root, "402206", now=NOW).text, tmp_path)
    odd = set(inventory.unreadable)
    assert len(odd) == 3 and all(_recordable(p) for p in odd)
    assert set(inventory.files) == set(expected_files())


def test_the_same_tree_collected_twice_gives_the_same_bytes(root: Path) -> None:
    first = collect(root, "402206", config_keys=KEYS, now=NOW).text
    second = collect(root, "402206", config_keys=KEYS, now=NOW).text
    assert first == second


@pytest.mark.parametrize("batch_files", [256, 3], ids=["one-batch", "many-batches"])
def test_one_job_four_jobs_and_a_walk_made_first_give_the_same_bytes(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batch_files: int
) -> None:
    """Many batches: four jobs are worker processes, sent each batch while the walk goes on; one job is a
    thread. A walk made first (for a progress bar) is hashed the same way."""
    from drift.collect.walk import walk

    monkeypatch.setattr(drift.collect.run, "_BATCH_FILES", batch_files)
    for i in range(40):
        put(root / f"lib/extra{i:02d}.jar", make_jar({f"X{i}.class": bytes([i]) * 100}))
        put(root / f"app/gen/F{i:02d}.java", f"class F{i} {{}}\n")
    put(root / "lib/corrupt.jar", b"PK\x03\x04 not really a zip")
    os.symlink(tmp_path, root / "lib/outside-link")
    os.mkfifo(root / "logs/pipe")
    _bytes_file(root / "conf", b"print-\xff.properties", b"x=1\n")
    one = collect(root, "402206", config_keys=KEYS, jobs=1, now=NOW).text
    four = collect(root, "402206", config_keys=KEYS, jobs=4, now=NOW).text
    walked = collect(root, "402206", tree=walk(root), config_keys=KEYS, jobs=4, now=NOW).text
    assert one == four == walked
    inventory = read_back(one, tmp_path)
    assert len(inventory.files) > 80 and inventory.files["app/gen/F07.java"].sha256 == sha(b"class F7 {}\n")
    assert inventory.links["lib/outside-link"].outside and inventory.skipped["logs/pipe"].kind == "fifo"


def test_the_by_path_fallback_gives_the_same_inventory(root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where there are no descriptor-relative calls (Windows), folders and files are checked and opened by
    path: same inventory, links, special files and odd names included."""
    import drift.collect.folders

    os.symlink(tmp_path, root / "lib/outside-link")
    os.mkfifo(root / "logs/pipe")
    _bytes_file(root / "conf", b"print-\xff.properties", b"x=1\n")
    for i in range(3):
        put(root / f"lib/extra{i}.jar", make_jar({f"X{i}.class": bytes([i]) * 100}))
    monkeypatch.setattr(drift.collect.run, "_BATCH_FILES", 2)  # several batches: worker processes
    by_fd = collect(root, "402206", config_keys=KEYS, jobs=2, now=NOW).text
    monkeypatch.setattr(drift.collect.folders, "FD_RELATIVE", False)
    assert collect(root, "402206", config_keys=KEYS, jobs=2, now=NOW).text == by_fd
    inventory = read_back(by_fd, tmp_path)
    assert inventory.links["lib/outside-link"].outside and inventory.skipped["logs/pipe"].kind == "fifo"
    assert inventory.config[("conf/print.properties", "print.lock.release_on_timeout")].value == "false"


def test_a_corrupt_jar_keeps_its_sha256_without_a_content_hash_and_the_rest_is_collected(root: Path, tmp_path: Path) -> None:
    # A jar whose deflate stream is damaged (zlib refuses it): the collection must not crash on it.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a/B.class", b"class bytes " * 500)
    broken = bytearray(buffer.getvalue())
    name_len, extra_len = struct.unpack("<HH", broken[26:30])
    broken[30 + name_len + extra_len] = 0x07  # a final block of the reserved type 3
    put(root / "lib/broken.jar", bytes(broken))
    put(root / "lib/not-a-zip.war", b"just text")
    result = collect(root, "402206", now=NOW)
    inventory = read_back(result.text, tmp_path)
    for path, data in (("lib/broken.jar", bytes(broken)), ("lib/not-a-zip.war", b"just text")):
        assert inventory.files[path].sha256 == sha(data) and inventory.files[path].content_sha256 is None
        assert inventory.content_errors[path].startswith("no content hash: ")
    assert set(inventory.files) == set(expected_files()) | {"lib/broken.jar", "lib/not-a-zip.war"}
    assert not inventory.unreadable


def _dies(task: object) -> None:
    os._exit(9)


def test_a_hashing_process_that_dies_is_an_error_not_an_inventory(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(drift.collect.run, "_BATCH_FILES", 2)  # several batches: worker processes
    monkeypatch.setattr(drift.collect.workers, "_hash_in_worker", _dies)
    with pytest.raises(OperationalError, match="a hashing process ended unexpectedly"):
        collect(root, "402206", jobs=2, now=NOW)


def test_a_missing_root_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        collect(tmp_path / "nope", "402206", now=NOW)


# --- the command line ---------------------------------------------------------------------------------------


@pytest.fixture()
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(tmp_path)  # no manifests/ here: no config keys asked for
    return CliRunner()


def test_cli_collect_writes_an_inventory_that_reads_back(runner: CliRunner, root: Path, tmp_path: Path) -> None:
    out = tmp_path / "out/402206.json"
    out.parent.mkdir()  # drift never creates the folder an inventory goes to (drift.atomic)
    result = runner.invoke(main, ["collect", str(root), "--tenant", "402206", "--out", str(out), "--exclude", "logs"])
    assert result.exit_code == 0, result.output
    inventory = read_json_inventory(out)
    assert inventory.tenant == "402206"
    assert "lib/kofu-print.jar" in inventory.files and not any(p.startswith("logs/") for p in inventory.files)
    assert result.stdout == ""
    assert str(out) in result.stderr and "files" in result.stderr
    assert not [p for p in out.parent.iterdir() if p.name != "402206.json"]


@pytest.mark.parametrize("batch_files", [256, 2], ids=["one-batch", "many-batches"])
def test_cli_collect_reads_the_catalog_while_it_walks_and_gives_the_same_inventory(
    runner: CliRunner, root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batch_files: int
) -> None:
    """`drift collect --catalog` reads the catalog in a second process while the tree is walked: the config
    values and the skipped archives are those of the catalog read first."""
    from drift.catalog.collectorneeds import collector_needs

    monkeypatch.setattr(drift.collect.run, "_BATCH_FILES", batch_files)
    out = tmp_path / "402206.json"
    result = runner.invoke(main, ["collect", str(root), "--tenant", "402206", "--out", str(out), "--catalog", str(MANIFESTS), "--jobs", "2"])
    assert result.exit_code == 0, result.output
    keys, known = collector_needs(MANIFESTS)
    expected = collect(root, "402206", config_keys=keys, known_archives=known, jobs=1)
    (tmp_path / "first").mkdir()
    inventory, first = read_json_inventory(out), read_back(expected.text, tmp_path / "first")
    assert inventory.files == first.files and inventory.config == first.config and inventory.config
    assert inventory.content_errors == first.content_errors


def test_cli_collect_a_catalog_that_does_not_load_is_exit_2_and_writes_nothing(
    runner: CliRunner, root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The catalog is read while the tree is walked; its error still stops the collection, in one line."""
    monkeypatch.setattr(drift.collect.run, "_BATCH_FILES", 2)
    catalog = tmp_path / "catalog"
    shutil.copytree(MANIFESTS, catalog)
    fix = min((catalog / "fixes").glob("*.yaml"))
    fix.write_text(fix.read_text(encoding="utf-8").replace("severity:", "severity: [", 1), encoding="utf-8")
    out = tmp_path / "402206.json"
    result = runner.invoke(main, ["collect", str(root), "--tenant", "402206", "--out", str(out), "--catalog", str(catalog), "--jobs", "2"])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and fix.name in lines[0] and "Traceback" not in result.output
    assert not out.exists()


def test_cli_collect_default_out_is_inventory_tenant_json(runner: CliRunner, root: Path, tmp_path: Path) -> None:
    (tmp_path / "inventory").mkdir()
    result = runner.invoke(main, ["collect", str(root), "--tenant", "402206", "--jobs", "2"])
    assert result.exit_code == 0, result.output
    assert read_json_inventory(tmp_path / "inventory/402206.json").tenant == "402206"


def test_cli_collect_accepts_another_tenant_id(runner: CliRunner, root: Path, tmp_path: Path) -> None:
    out = tmp_path / "pilot.json"
    result = runner.invoke(main, ["collect", str(root), "--tenant", "pilot-site_2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert read_json_inventory(out).tenant == "pilot-site_2"


def test_cli_collect_refuses_a_wrong_check_digit_in_one_line(runner: CliRunner, root: Path, tmp_path: Path) -> None:
    out = tmp_path / "402207.json"
    result = runner.invoke(main, ["collect", str(root), "--tenant", "402207", "--out", str(out)])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "check digit" in lines[0] and "402206" in lines[0]
    assert "Traceback" not in result.output
    assert not out.exists()


def test_cli_collect_a_missing_root_is_exit_2(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "402206.json"
    result = runner.invoke(main, ["collect", str(tmp_path / "no-such-root"), "--tenant", "402206", "--out", str(out)])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "no-such-root" in lines[0]
    assert not out.exists()


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name != "402206.json")


@pytest.fixture()
def previous(tmp_path: Path) -> Path:
    """An inventory from an earlier collection, which a failed write must leave as it was."""
    folder = tmp_path / "inventory"
    folder.mkdir()
    path = folder / "402206.json"
    path.write_text('{"previous": "inventory"}\n', encoding="utf-8")
    return path


def test_cli_collect_a_failed_rename_keeps_the_previous_inventory(
    runner: CliRunner, root: Path, previous: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def replace(src, dst):  # type: ignore[no-untyped-def]
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(drift.atomic.os, "replace", replace)
    result = runner.invoke(main, ["collect", str(root), "--tenant", "402206", "--out", str(previous)])
    assert result.exit_code == 3
    errors = [line for line in result.stderr.strip().splitlines() if not line.startswith("drift: warning:")]  # no catalog here
    assert "Traceback" not in result.output and len(errors) == 1
    assert previous.read_text(encoding="utf-8") == '{"previous": "inventory"}\n'
    assert _leftovers(previous.parent) == []


def test_cli_collect_a_full_disk_mid_write_keeps_the_previous_inventory(
    runner: CliRunner, root: Path, previous: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_fdopen = os.fdopen

    class HalfWritten:
        def __init__(self, handle):  # type: ignore[no-untyped-def]
            self.handle = handle

        def __enter__(self):  # type: ignore[no-untyped-def]
            return self

        def __exit__(self, *exc):  # type: ignore[no-untyped-def]
            self.handle.close()

        def fileno(self) -> int:
            return self.handle.fileno()

        def write(self, data: bytes) -> int:
            self.handle.write(data[: len(data) // 2])
            self.handle.flush()
            raise OSError(errno.ENOSPC, "No space left on device")

        def flush(self) -> None:
            self.handle.flush()

    monkeypatch.setattr(drift.atomic.os, "fdopen", lambda fd, mode: HalfWritten(real_fdopen(fd, mode)))
    result = runner.invoke(main, ["collect", str(root), "--tenant", "402206", "--out", str(previous)])
    assert result.exit_code == 3
    assert "No space left" in result.stderr
    assert previous.read_text(encoding="utf-8") == '{"previous": "inventory"}\n'
    assert _leftovers(previous.parent) == []


def test_cli_collect_interrupted_before_the_rename_keeps_the_previous_inventory(
    runner: CliRunner, root: Path, previous: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fsync(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(drift.atomic.os, "fsync", fsync)
    result = runner.invoke(main, ["collect", str(root), "--tenant", "402206", "--out", str(previous)])
    assert result.exit_code == 130
    assert "Traceback" not in result.output
    assert previous.read_text(encoding="utf-8") == '{"previous": "inventory"}\n'
    assert _leftovers(previous.parent) == []


def test_cli_collect_writes_the_inventory_readable_like_any_other_file(runner: CliRunner, root: Path, tmp_path: Path) -> None:
    old_mask = os.umask(0o022)
    try:
        out = tmp_path / "402206.json"
        assert runner.invoke(main, ["collect", str(root), "--tenant", "402206", "--out", str(out)]).exit_code == 0
        assert stat.S_IMODE(out.stat().st_mode) == 0o644  # not mkstemp's 0600: the auditor's account reads it
        out.chmod(0o640)
        assert runner.invoke(main, ["collect", str(root), "--tenant", "402206", "--out", str(out)]).exit_code == 0
        assert stat.S_IMODE(out.stat().st_mode) == 0o640  # a re-collection keeps the permissions it was given
    finally:
        os.umask(old_mask)
