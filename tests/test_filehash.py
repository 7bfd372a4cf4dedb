"""A PowerShell `Get-FileHash` CSV as an inventory: read and judged like the equivalent sha256sum listing."""

from __future__ import annotations

import hashlib
import json

import pytest

from drift.errors import InventoryError
from drift.inventory.filehash import read_filehash
from tests.builders import run_cli as run
from tests.builders import write_yaml
from tests.demo import release_files

TENANT = "402206"


def listing(files: dict[str, bytes], *, algorithm: bool = True, bom: bool = True, style: str = ".\\") -> bytes:
    """What `Get-FileHash | Select-Object ... | Export-Csv -NoTypeInformation -Encoding UTF8` writes (CRLF, quoted)."""
    head = '"Algorithm","Hash","Path"' if algorithm else '"Hash","Path"'
    rows = [head]
    for path, data in sorted(files.items()):
        windows = style + path.replace("/", "\\")
        hex_upper = hashlib.sha256(data).hexdigest().upper()
        rows.append(f'"SHA256","{hex_upper}","{windows}"' if algorithm else f'"{hex_upper}","{windows}"')
    text = "\r\n".join(rows) + "\r\n"
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")




def test_a_get_filehash_listing_reads_like_a_sha256sum_listing(tmp_path):
    files = {"app/print/Job.java": b"a", "lib/Core.JAR": b"b", "README": b"c"}
    path = tmp_path / f"{TENANT}.hashes.csv"
    path.write_bytes(listing(files))
    inventory = read_filehash(path)
    assert inventory.tenant == TENANT and inventory.collector == "Get-FileHash"
    assert {p: r.sha256 for p, r in inventory.files.items()} == {p: hashlib.sha256(d).hexdigest() for p, d in files.items()}
    assert inventory.digest == "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    path.write_bytes(listing(files, algorithm=False, bom=False, style=""))
    assert set(read_filehash(path).files) == set(files)  # case kept: lib/Core.JAR


@pytest.mark.parametrize(("row", "why"), [
    ('"SHA256","{h}","C:\\deploy\\app\\x.java"', "is absolute"),
    ('"SHA256","{h}","\\\\server\\share\\x.java"', "is absolute"),
    ('"SHA256","{h}","\\app\\x.java"', "is absolute"),
    ('"SHA256","{h}",".\\..\\x.java"', "leaves its root"),
    ('"MD5","{h}",".\\x.java"', "only SHA256"),
    ('"SHA256","abc",".\\x.java"', "not a SHA-256 hash"),
    ('"SHA256","{h}"', "2 cells, the header has 3"),
    ('"SHA256","{h}",".\\A.TXT"', "is 'a.txt' in another case: listed twice"),
    ('"SHA256","{h}",".\\lib\\core.jar."', "ending in a dot or a space"),
    ('"SHA256","{h}",".\\lib \\core.jar"', "ending in a dot or a space"),
    ('"SHA256","{h}",".\\app\\x.java::$DATA"', "a character Windows never lists"),
    ('"SHA256","{h}",".\\app\\x?.java"', "a character Windows never lists"),
])
def test_a_bad_row_is_refused_naming_its_line(tmp_path, row, why):
    path = tmp_path / f"{TENANT}.hashes.csv"
    good = listing({"a.txt": b"a"}).decode("utf-8-sig")
    path.write_text(good + row.replace("{h}", "A" * 64) + "\r\n", encoding="utf-8")
    with pytest.raises(InventoryError) as caught:
        read_filehash(path)
    assert str(caught.value).startswith(f"{path}: line 3: ") and why in str(caught.value)


def test_a_windows_tenant_is_scanned_from_its_listing_and_deleting_a_fix_file_is_no_escape(demo_root):
    write_yaml(demo_root / "inventory" / "tenants.yaml", [
        {"id": TENANT, "name": "宗像市", "prefecture": "福岡県", "edition": "seirei", "line": "2.x", "modules": ["konbini"]},
    ])
    files = release_files("2.x", "2.2")
    (demo_root / "inventory" / f"{TENANT}.hashes.csv").write_bytes(listing(files))
    result = run(demo_root, "scan", "--format", "json")
    assert result.exit_code == 0 and "not scanned" not in result.stderr  # tenants.csv-like names are not taken for tenants
    findings = {f["fix"]: f["status"] for f in json.loads(result.stdout)["tenants"][0]["findings"]}
    assert findings["DEMO-0001"] == "applied"
    files.pop("app/print/Job.java")
    (demo_root / "inventory" / f"{TENANT}.hashes.csv").write_bytes(listing(files))
    findings = {f["fix"]: f["status"] for f in json.loads(run(demo_root, "scan", "--format", "json").stdout)["tenants"][0]["findings"]}
    assert findings["DEMO-0001"] == "unverifiable"  # removed, not not-applicable
    assert run(demo_root, "gate").exit_code == 1


def test_a_listing_of_an_unregistered_tenant_is_noted(demo_root):
    write_yaml(demo_root / "inventory" / "tenants.yaml", [
        {"id": TENANT, "name": "宗像市", "prefecture": "福岡県", "edition": "seirei", "line": "2.x", "modules": ["konbini"]},
    ])
    (demo_root / "inventory" / f"{TENANT}.hashes.csv").write_bytes(listing(release_files("2.x", "2.2")))
    (demo_root / "inventory" / "131211.hashes.csv").write_bytes(listing({"a": b"a"}))
    result = run(demo_root, "scan")
    assert "131211.hashes.csv: no tenant '131211' in the registry; not scanned" in result.stderr


def test_a_header_naming_a_column_twice_is_refused(tmp_path):
    path = tmp_path / f"{TENANT}.hashes.csv"
    path.write_text('"Hash","Path","Path"\r\n"' + "A" * 64 + '",".\\a.txt",".\\b.txt"\r\n', encoding="utf-8")
    with pytest.raises(InventoryError, match="line 1: the header row names Path twice"):
        read_filehash(path)


def test_a_row_the_csv_module_cannot_read_is_refused_naming_its_line(tmp_path):
    """A cell over the csv module's size limit is an input error naming the line, not a crash; the message
    does not echo the cell."""
    path = tmp_path / f"{TENANT}.hashes.csv"
    good = listing({"a.txt": b"a"}).decode("utf-8-sig")
    path.write_text(good + '"SHA256","' + "A" * 64 + '",".\\' + "x" * 200_000 + '"\r\n', encoding="utf-8")
    with pytest.raises(InventoryError) as caught:
        read_filehash(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: line 3: not a CSV row") and len(message) < 400


def test_a_line_break_inside_a_quoted_cell_does_not_shift_the_line_named(tmp_path):
    path = tmp_path / f"{TENANT}.hashes.csv"
    text = '"Algorithm","Hash","Path","Note"\r\n"SHA256","' + "A" * 64 + '",".\\a.txt","two\r\nlines\r\nhere"\r\n'
    text += '"SHA256","abc",".\\b.txt",""\r\n'
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InventoryError) as caught:
        read_filehash(path)
    assert str(caught.value).startswith(f"{path}: line 5: not a SHA-256 hash")
