"""Inventories (SPEC 4): the digested JSON document and plain sha256sum listings."""

from __future__ import annotations

import fnmatch
import hashlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drift.errors import InventoryError
from drift.inventory import find_inventory, read_inventory
from drift.inventory.jsonfile import read_json_inventory
from drift.inventory.jsonwrite import dumps_inventory
from drift.inventory.model import ConfigValue, FileRecord, Unreadable, excluded
from tests.builders import redigest, refusal
from tests.builders import write_text as write

H1, H2, H3 = ("a1" * 32, "b2" * 32, "c3" * 32)
FILES = {
    "app/Main.java": FileRecord(120, H1, None),
    "lib/core.jar": FileRecord(4096, H2, H3),
    "conf/print.properties": FileRecord(0, H3, None),
}
CONFIG = [ConfigValue("conf/print.properties", "print.lock", "exclusive"), ConfigValue("conf/print.properties", "print.unset", None)]
UNREADABLE = [Unreadable("app/secret.key", "permission denied")]


def dumps(files: dict[str, FileRecord] = FILES, config=CONFIG, unreadable=UNREADABLE, tenant: str = "402206") -> str:
    return dumps_inventory(
        tenant=tenant, collected_at="2023-06-14T01:30:00Z", collector="drift test", content_hash="drift-content/1",
        files=files, config=config, unreadable=unreadable,
    ).decode()




def refused(path: Path, field: str) -> str:
    return refusal(InventoryError, lambda: read_inventory(path), path, field)


# --- JSON inventories ----------------------------------------------------------------------------------


def test_json_inventory_reads_back_what_was_written(tmp_path):
    inventory = read_inventory(write(tmp_path, dumps()), "402206")
    assert inventory.tenant == "402206"
    assert inventory.collected_at == "2023-06-14T01:30:00Z" and inventory.collector == "drift test"
    assert dict(inventory.files) == FILES
    assert dict(inventory.config) == {(c.file, c.key): c for c in CONFIG}
    assert dict(inventory.unreadable) == {u.path: u for u in UNREADABLE}
    assert inventory.files["lib/core.jar"].tokens() == (f"sha256:{H2}", f"content-sha256:{H3}")


def test_an_empty_inventory_reads_back(tmp_path):
    inventory = read_inventory(write(tmp_path, dumps(files={}, config=[], unreadable=[])))
    assert (dict(inventory.files), dict(inventory.config), dict(inventory.unreadable)) == ({}, {}, {})


def test_writing_is_canonical_whatever_the_input_order(tmp_path):
    shuffled = dict(reversed(list(FILES.items())))
    assert dumps(shuffled, list(reversed(CONFIG))) == dumps()


def test_the_digest_can_be_checked_with_plain_hashlib(tmp_path):
    data = write(tmp_path, dumps()).read_bytes()
    before_digest_line = b"".join(data.splitlines(keepends=True)[:-2])  # `head -n -2 402206.json | sha256sum`
    assert read_json_inventory(tmp_path / "402206.json").digest == "sha256:" + hashlib.sha256(before_digest_line).hexdigest()


def test_a_non_ascii_path_survives_and_is_digested_as_utf8(tmp_path):
    files = {"app/帳票/証明書.java": FileRecord(1, H1, None)}
    path = write(tmp_path, dumps(files=files))
    assert dict(read_inventory(path).files) == files
    assert "証明書" in path.read_text(encoding="utf-8")  # written as UTF-8, not \u escapes


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (H1, "0" + H1[1:]),  # a hash
        ('"size": 120', '"size": 121'),  # a size
        ("app/Main.java", "app/Mail.java"),  # a path
        ('"size": 120', '"size":  120'),  # whitespace
        ("exclusive", "shared"),  # a config value
        ("permission denied", "permission Denied"),  # an unreadable reason
        ('"tenant": "402206"', '"tenant": "141305"'),  # the tenant
        ('{"path"', '\n  {"path"'),  # a line break
    ],
)
def test_changing_any_byte_fails_the_digest(tmp_path, old, new):
    text = dumps()
    assert text.count(old) >= 1
    path = write(tmp_path, text.replace(old, new, 1))
    assert "does not verify" in refused(path, "digest")


def test_changing_the_digest_itself_fails(tmp_path):
    text = dumps()
    digest = text[text.rindex("sha256:") + 7 :][:64]
    path = write(tmp_path, text.replace(digest, digest[::-1]))
    refused(path, "digest")


@pytest.mark.parametrize("keep", [0.5, 0.99])
def test_a_truncated_inventory_is_refused(tmp_path, keep):
    data = dumps().encode()
    path = tmp_path / "402206.json"
    path.write_bytes(data[: int(len(data) * keep)])
    refused(path, "digest")


def test_an_inventory_cut_after_its_digest_line_is_refused(tmp_path):
    text = dumps()
    path = write(tmp_path, text[: text.rindex("}")])
    refused(path, "digest")


@pytest.mark.parametrize(
    "bad",
    ["app/../../etc/passwd", "../outside", "/etc/passwd", "C:/Windows/win.ini", "app/a\x00b", "app/a\nb", "app/a\x1bb", "app/./x", "app//x", "app\\x"],
)
def test_a_path_outside_the_root_is_refused_even_when_the_digest_verifies(tmp_path, bad):
    files = {**FILES, bad: FileRecord(1, H1, None)}
    index = sorted(files).index(bad)
    path = write(tmp_path, dumps(files=files))
    refused(path, f"files[{index}]")


def test_a_drive_like_name_is_judged_the_same_whatever_other_paths_there_are(tmp_path):
    # `1:notes` is a plain file name on POSIX; only a letter before `:` is a drive
    path = write(tmp_path, dumps(files={"1:notes": FileRecord(1, H1, None)}))
    assert list(read_inventory(path).files) == ["1:notes"]
    path = write(tmp_path, dumps(files={"1:notes": FileRecord(1, H1, None), "z/../x": FileRecord(1, H1, None)}))
    refused(path, "files[1]")


def test_an_unreadable_path_outside_the_root_is_refused(tmp_path):
    path = write(tmp_path, dumps(unreadable=[Unreadable("app/ok", "x"), Unreadable("../x", "permission denied")]))
    refused(path, "unreadable[0]")


def test_a_config_file_outside_the_root_is_refused(tmp_path):
    path = write(tmp_path, dumps(config=[ConfigValue("/etc/print.properties", "k", "v")]))
    refused(path, "config[0].file")


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ('"size": 120', '"size": -1', "files[0].size"),
        ('"size": 120', '"size": "120"', "files[0].size"),
        (f'"sha256": "{H1}"', f'"sha256": "{H1.upper()}"', "files[0].sha256"),
        ('"size": 120', '"size": 120, "mode": "0644"', "files[0].mode"),
        ('"path": "app/secret.key"', '"path": 7', "unreadable[0]"),
        ('"format": "drift-inventory/1"', '"format": "drift-inventory/9"', "format"),
        ('"collector": "drift test"', '"collector": "drift test", "operator": "me"', "operator"),
    ],
)
def test_a_digested_but_invalid_field_is_refused(tmp_path, old, new, field):
    text = dumps(files={"app/Main.java": FILES["app/Main.java"]})
    assert old in text
    path = write(tmp_path, redigest(text.replace(old, new, 1)))
    refused(path, field)


def test_read_inventory_refuses_another_tenants_inventory(tmp_path):
    path = write(tmp_path, dumps(tenant="402206"), name="141305.json")
    with pytest.raises(InventoryError, match="of tenant '402206', not '141305'") as caught:
        read_inventory(path, "141305")
    assert caught.value.where == "tenant"


def test_an_unknown_inventory_suffix_is_refused(tmp_path):
    path = write(tmp_path, "x", name="402206.txt")
    with pytest.raises(InventoryError, match="unknown inventory type '.txt'"):
        read_inventory(path)


# --- finding a tenant's inventory ----------------------------------------------------------------------


def test_find_inventory_finds_the_one_file_or_nothing(tmp_path):
    assert find_inventory(tmp_path, "402206") is None
    path = write(tmp_path, f"{H1}  a\n", name="402206.sha256")
    assert find_inventory(tmp_path, "402206") == path


def test_find_inventory_with_json_and_sha256_for_one_tenant_is_an_error(tmp_path):
    write(tmp_path, dumps())
    write(tmp_path, f"{H1}  a\n", name="402206.sha256")
    with pytest.raises(InventoryError, match="402206 has 2 inventories"):
        find_inventory(tmp_path, "402206")


# --- sha256sum listings --------------------------------------------------------------------------------


def test_a_sha256sum_listing_is_an_inventory(tmp_path):
    text = f"{H1}  app/Main.java\n{H2} *lib/core.jar\n{H3.upper()}  ./conf/print.properties\n\n"
    path = write(tmp_path, text, name="141305.sha256")
    inventory = read_inventory(path, "141305")
    assert dict(inventory.files) == {
        "app/Main.java": FileRecord(None, H1, None),
        "lib/core.jar": FileRecord(None, H2, None),
        "conf/print.properties": FileRecord(None, H3, None),
    }
    assert inventory.tenant == "141305" and inventory.collected_at is None and not inventory.config
    assert inventory.digest == "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def test_a_sha256sum_listing_with_crlf_line_ends_is_read(tmp_path):
    path = write(tmp_path, f"{H1}  app/Main.java\r\n{H2}  lib/core.jar\r\n", name="141305.sha256")
    assert list(read_inventory(path).files) == ["app/Main.java", "lib/core.jar"]


def test_a_sha256sum_name_with_a_unicode_line_separator_stays_one_line(tmp_path):
    path = write(tmp_path, f"{H1}  docs/a\u2028b.txt\n{H2}  c\n", name="141305.sha256")
    assert list(read_inventory(path).files) == ["docs/a\u2028b.txt", "c"]


@pytest.mark.parametrize(
    ("escaped", "reason"),
    [("app/a\\nb", "control character"), ("app/a\\\\nb", "backslash"), ("app/a\\\\b", "backslash")],
)
def test_gnu_escaped_names_are_unescaped_then_refused(tmp_path, escaped, reason):
    # sha256sum escapes only names holding a newline or a backslash, and those are never plain relative paths
    path = write(tmp_path, f"{H1}  ok\n\\{H2}  {escaped}\n", name="141305.sha256")
    assert reason in refused(path, "line 2")


@pytest.mark.parametrize(
    "line",
    [f"{H1} app/x", f"{H1[:-1]}  app/x", f"{H1}  ", "SHA256 (app/x) = " + H1, f"md5 {H1}  app/x", "garbage"],
)
def test_a_malformed_sha256sum_line_is_refused_naming_it(tmp_path, line):
    path = write(tmp_path, f"{H1}  ok\n\n{line}\n", name="141305.sha256")
    assert "expected '<64 hex>  <path>'" in refused(path, "line 3")


@pytest.mark.parametrize("name", ["../etc/passwd", "/etc/passwd", "./../x", "a/\x01b"])
def test_a_sha256sum_path_outside_the_root_is_refused(tmp_path, name):
    path = write(tmp_path, f"{H1}  ok\n{H2}  {name}\n", name="141305.sha256")
    refused(path, "line 2")


def test_a_path_listed_twice_in_a_sha256sum_listing_is_refused(tmp_path):
    path = write(tmp_path, f"{H1}  app/x\n{H2}  ./app/x\n", name="141305.sha256")
    assert "listed twice" in refused(path, "line 2")


def test_a_sha256sum_listing_that_is_not_utf8_is_refused(tmp_path):
    path = tmp_path / "141305.sha256"
    path.write_bytes(f"{H1}  app/".encode() + "帳票".encode("cp932") + b"\n")
    with pytest.raises(InventoryError, match="not UTF-8"):
        read_inventory(path)


def test_content_errors_name_listed_archives_without_a_content_hash(tmp_path):
    files = {"lib/broken.jar": FileRecord(10, H1, None), "lib/core.jar": FileRecord(10, H2, H3)}
    ok = dumps_inventory(
        tenant="402206", collected_at="2023-06-14T01:30:00Z", collector="drift test", content_hash="drift-content/1",
        files=files, config=[], unreadable=[], content_errors=[Unreadable("lib/broken.jar", "no content hash: corrupt")],
    ).decode()
    assert read_inventory(write(tmp_path, ok), "402206").content_errors == {"lib/broken.jar": "no content hash: corrupt"}
    bad = redigest(ok.replace('"path": "lib/broken.jar", "reason"', '"path": "lib/core.jar", "reason"'))
    refusal(InventoryError, lambda: read_inventory(write(tmp_path, bad)), tmp_path / "402206.json", "content_errors[0].path")


@pytest.mark.parametrize(
    ("member", "field"),
    [
        ('"links": [{"outside": "no", "path": "lib/a.jar", "target": "/x"}]', "links[0]"),
        ('"links": [{"path": "lib/a.jar", "target": "/x"}]', "links[0]"),
        ('"links": [{"outside": true, "path": "../a.jar", "target": "/x"}]', "links[0].path"),
        ('"skipped": [{"kind": "pipe", "path": "run/x"}]', "skipped[0].kind"),
        ('"skipped": [{"kind": "fifo", "path": "run/x"}, {"kind": "fifo", "path": "run/x"}]', "skipped[1].path"),
    ],
)
def test_links_and_skipped_entries_are_checked(tmp_path, member, field):
    text = dumps_inventory(
        tenant="402206", collected_at="2023-06-14T01:30:00Z", collector="drift test", content_hash="drift-content/1",
        files=FILES, config=[], unreadable=[],
    ).decode()
    name = member.split(":", 1)[0]
    text = redigest(text.replace(f" {name}: [],", f" {member},"))
    refused(write(tmp_path, text), field)


@pytest.mark.parametrize("old, new", [('"size": 1', '"size": 1' + "0" * 5000), ('"files": [', '"files": ' + "[" * 100_000)])
def test_json_no_parser_can_take_is_invalid_json_not_an_internal_error(tmp_path, old, new):
    path = write(tmp_path, redigest(dumps().replace(old, new, 1)))
    with pytest.raises(InventoryError, match="invalid JSON"):
        read_inventory(path)


# --- values from the tenant in messages (SPEC 5) ---------------------------------------------------------

PAINT = "\\u001b[32mPASS\\u001b[0m"  # as JSON writes it: the value holds the escape sequence


@pytest.mark.parametrize(
    ("old", "new", "field", "shown"),
    [
        ('"collector": "drift test"', f'"collector": "drift test", "{PAINT}\\r\\n": 1', "\\e[32mPASS\\e[0m\\r\\n", None),
        ('"format": "drift-inventory/1"', f'"format": "drift-inventory/1{PAINT}"', "format", "'drift-inventory/1\\e[32mPASS\\e[0m'"),
        ('"sha256": "' + H1 + '"', '"sha256": "' + PAINT + '"', "files[0].sha256", "'\\e[32mPASS\\e[0m'"),
        ('"collected_at": "2023-06-14T01:30:00Z"', '"collected_at": "2023-06-14T01:30:00Z\\u202e"', "collected_at", "'2023-06-14T01:30:00Z\\u202e'"),
    ],
)
def test_a_value_from_the_tenant_is_shown_escaped_in_the_message(tmp_path, old, new, field, shown):
    text = dumps(files={"app/Main.java": FILES["app/Main.java"]})
    path = write(tmp_path, redigest(text.replace(old, new, 1)))
    message = refusal(InventoryError, lambda: read_inventory(path), path, field)
    assert not any(ch in message for ch in "\x1b\r\n\u202e")
    if shown:
        assert shown in message


def test_a_huge_value_is_cut_in_the_message_with_its_length(tmp_path):
    text = dumps(files={"app/Main.java": FILES["app/Main.java"]})
    path = write(tmp_path, redigest(text.replace('"drift-inventory/1"', '"' + "x" * 1_000_000 + '"', 1)))
    message = refusal(InventoryError, lambda: read_inventory(path), path, "format")
    assert "... (1,000,000 characters)" in message and len(message) < 1000


def test_a_sha256sum_path_listed_twice_is_shown_escaped(tmp_path):
    name = "app/\u202eavaj.x"
    path = write(tmp_path, f"{H1}  {name}\n{H2}  {name}\n", name="402206.sha256")
    message = refused(path, "line 2")
    assert "path 'app/\\u202eavaj.x' listed twice" in message


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="ab/.*-", max_size=10), st.lists(st.text(alphabet="ab/*?[]!.-", min_size=1, max_size=8), max_size=3))
def test_an_exclusion_matches_a_path_as_fnmatch_says_of_each_pattern(path: str, patterns: list[str]) -> None:
    """SPEC 4: a glob matches the path, `*` across `/`, or a folder above it (the pattern with `/*`)."""
    plain = any(fnmatch.fnmatchcase(path, p) or fnmatch.fnmatchcase(path, p.rstrip("/") + "/*") for p in patterns)
    assert excluded(path, patterns) is plain
