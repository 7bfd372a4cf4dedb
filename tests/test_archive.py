"""The content hash of zip-family archives, `content-sha256` (SPEC 2), algorithm `drift-content/1`."""

from __future__ import annotations

import hashlib
import io
import struct
import zipfile

import pytest

from drift.archive import ALGORITHM, ArchiveError, content_sha256, content_sha256_bytes

CLASSES = {
    "com/kofu/print/IssueJob.class": b"\xca\xfe\xba\xbe" + bytes(range(256)) * 8,
    "com/kofu/print/Lock.class": b"\xca\xfe\xba\xbe\x00\x00\x00\x3d lock",
    "kofu-print.properties": b"print.lock.release_on_timeout=false\n",
}

MANIFEST_CI = (
    "Manifest-Version: 1.0\r\n"
    "Built-By: jenkins\r\n"
    "Created-By: Apache Maven 3.8.6\r\n"
    "Build-Jdk: 17.0.2\r\n"
    "Build-Jdk-Spec: 17\r\n"
    "Implementation-Version: 8.2.1\r\n"
    "\r\n"
)
MANIFEST_LAPTOP = (
    "Manifest-Version: 1.0\r\n"
    "Created-By: 11.0.19 (Eclipse Adoptium)\r\n"
    "Built-By: tanaka\r\n"
    "Build-Jdk: 11.0.19\r\n"
    "Build-Jdk-Spec: 11\r\n"
    "Build-Time: 2023-04-22T10:11:12Z\r\n"
    "Bnd-LastModified: 1682158272000\r\n"
    "Implementation-Version: 8.2.1\r\n"
    "\r\n"
)


def build_zip(
    entries: dict[str, bytes] | list[tuple[str, bytes]],
    *,
    manifest: str | bytes | None = MANIFEST_CI,
    when: tuple[int, int, int, int, int, int] = (2020, 1, 1, 0, 0, 0),
    compression: int = zipfile.ZIP_DEFLATED,
    level: int | None = None,
    folders: bool = True,
) -> bytes:
    """A real zip: entries in the given order, with optional folder entries and a manifest first."""
    items = list(entries.items()) if isinstance(entries, dict) else list(entries)
    buffer = io.BytesIO()
    seen: set[str] = set()
    with zipfile.ZipFile(buffer, "w") as archive:

        def put(name: str, data: bytes) -> None:
            info = zipfile.ZipInfo(name, when)
            info.compress_type = zipfile.ZIP_STORED if name.endswith("/") else compression
            archive.writestr(info, data, compresslevel=level)

        if manifest is not None:
            if folders:
                put("META-INF/", b"")
                seen.add("META-INF/")
            put("META-INF/MANIFEST.MF", manifest.encode() if isinstance(manifest, str) else manifest)
        for name, data in items:
            if folders:
                parts = name.split("/")[:-1]
                for i in range(1, len(parts) + 1):
                    folder = "/".join(parts[:i]) + "/"
                    if folder not in seen:
                        seen.add(folder)
                        put(folder, b"")
            put(name, data)
    return buffer.getvalue()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_a_jar_rebuilt_at_another_time_by_another_jdk_has_another_sha256_but_the_same_content_hash() -> None:
    ci = build_zip(CLASSES, manifest=MANIFEST_CI, when=(2023, 4, 22, 9, 0, 0), level=6)
    laptop = build_zip(CLASSES, manifest=MANIFEST_LAPTOP, when=(2024, 11, 3, 17, 45, 30), level=9)
    assert sha(ci) != sha(laptop)
    assert content_sha256_bytes(ci) == content_sha256_bytes(laptop)


def _renamed(entries: dict[str, bytes], old: str, new: str) -> dict[str, bytes]:
    out = dict(entries)
    out[new] = out.pop(old)
    return out


@pytest.mark.parametrize(
    "changed",
    [
        pytest.param(
            build_zip({**CLASSES, "com/kofu/print/Lock.class": CLASSES["com/kofu/print/Lock.class"] + b"\x00"}),
            id="one entry's bytes",
        ),
        pytest.param(build_zip({**CLASSES, "com/kofu/print/Extra.class": b"\xca\xfe\xba\xbe"}), id="an entry added"),
        pytest.param(
            build_zip({k: v for k, v in CLASSES.items() if k != "kofu-print.properties"}), id="an entry removed"
        ),
        pytest.param(
            build_zip(_renamed(CLASSES, "com/kofu/print/Lock.class", "com/kofu/print/Lock2.class")), id="an entry renamed"
        ),
        pytest.param(
            build_zip(_renamed(CLASSES, "com/kofu/print/Lock.class", "com/kofu/print/lock.class")), id="an entry's case"
        ),
        pytest.param(
            build_zip(CLASSES, manifest=MANIFEST_CI.replace("Implementation-Version: 8.2.1", "Implementation-Version: 8.2.2")),
            id="a non-volatile manifest attribute",
        ),
        pytest.param(
            build_zip(CLASSES, manifest=MANIFEST_CI.replace("\r\n\r\n", "\r\nMain-Class: com.kofu.Main\r\n\r\n")),
            id="a manifest attribute added",
        ),
        pytest.param(build_zip(CLASSES, manifest=None), id="the manifest removed"),
        pytest.param(
            build_zip({**CLASSES, "META-INF/maven/pom.properties": b"#Built-By: jenkins\n"}),
            id="volatile-looking text outside the manifest",
        ),
    ],
)
def test_a_real_change_changes_the_content_hash(changed: bytes) -> None:
    assert content_sha256_bytes(changed) != content_sha256_bytes(build_zip(CLASSES))


def test_entry_order_compression_method_and_level_do_not_count() -> None:
    base = content_sha256_bytes(build_zip(CLASSES))
    reordered = list(reversed(list(CLASSES.items())))
    assert content_sha256_bytes(build_zip(reordered)) == base
    assert content_sha256_bytes(build_zip(CLASSES, compression=zipfile.ZIP_STORED)) == base
    assert content_sha256_bytes(build_zip(CLASSES, level=1)) == base
    assert content_sha256_bytes(build_zip(CLASSES, level=9)) == base
    assert content_sha256_bytes(build_zip(CLASSES, compression=zipfile.ZIP_BZIP2)) == base
    assert content_sha256_bytes(build_zip(CLASSES, compression=zipfile.ZIP_LZMA)) == base


def test_directory_entries_are_ignored() -> None:
    with_folders = build_zip(CLASSES, folders=True)
    without = build_zip(CLASSES, folders=False)
    with_empty_folder = build_zip([*CLASSES.items(), ("static/empty/", b"")], folders=False)
    assert with_folders != without
    assert content_sha256_bytes(with_folders) == content_sha256_bytes(without) == content_sha256_bytes(with_empty_folder)


def test_a_nested_jar_counts_by_its_own_content_hash() -> None:
    inner_ci = build_zip(CLASSES, manifest=MANIFEST_CI, when=(2023, 4, 22, 9, 0, 0))
    inner_laptop = build_zip(CLASSES, manifest=MANIFEST_LAPTOP, when=(2024, 1, 2, 3, 4, 5), level=1)
    web = {"WEB-INF/web.xml": b"<web-app/>", "index.jsp": b"<%= 1 %>"}
    war_ci = build_zip({**web, "WEB-INF/lib/kofu-print.jar": inner_ci}, manifest=MANIFEST_CI)
    war_laptop = build_zip({**web, "WEB-INF/lib/kofu-print.jar": inner_laptop}, manifest=MANIFEST_LAPTOP)
    assert sha(war_ci) != sha(war_laptop)
    assert content_sha256_bytes(war_ci) == content_sha256_bytes(war_laptop)

    # The nested jar's record is its content hash, not the SHA-256 of its bytes.
    records = sorted(
        [
            b"META-INF/MANIFEST.MF\0" + sha(b"Manifest-Version: 1.0\nImplementation-Version: 8.2.1\n\n").encode() + b"\n",
            b"WEB-INF/web.xml\0" + sha(b"<web-app/>").encode() + b"\n",
            b"index.jsp\0" + sha(b"<%= 1 %>").encode() + b"\n",
            b"WEB-INF/lib/kofu-print.jar\0" + content_sha256_bytes(inner_ci).encode() + b"\n",
        ]
    )
    assert content_sha256_bytes(war_ci) == sha(b"".join(records))

    patched = build_zip({**CLASSES, "com/kofu/print/Lock.class": b"\xca\xfe\xba\xbe patched"})
    war_patched = build_zip({**web, "WEB-INF/lib/kofu-print.jar": patched}, manifest=MANIFEST_CI)
    assert content_sha256_bytes(war_patched) != content_sha256_bytes(war_ci)


def test_a_nested_archive_name_that_is_not_a_zip_counts_by_its_bytes() -> None:
    fake = b"this is not a zip archive"
    outer = build_zip({"lib/fake.jar": fake}, manifest=None)
    assert content_sha256_bytes(outer) == sha(b"lib/fake.jar\0" + sha(fake).encode() + b"\n")


def test_archives_nested_deeper_than_the_limit_still_get_a_content_hash() -> None:
    data = build_zip({"a.txt": b"core"}, manifest=None)
    for depth in range(12):
        data = build_zip({f"level{depth}.jar": data}, manifest=None)
    digest = content_sha256_bytes(data)  # no ArchiveError, no RecursionError
    assert len(digest) == 64 and int(digest, 16) >= 0
    # A change at the bottom still shows at the top while within the nesting limit.
    shallow = build_zip({"inner.jar": build_zip({"a.txt": b"core"}, manifest=None)}, manifest=None)
    other = build_zip({"inner.jar": build_zip({"a.txt": b"CORE"}, manifest=None)}, manifest=None)
    assert content_sha256_bytes(shallow) != content_sha256_bytes(other)


WRAPPED = (
    "Manifest-Version: 1.0\r\n"
    "Class-Path: lib/kofu-core-8.2.1.jar lib/kofu-print-8.2.1.jar lib/kofu-kon\r\n"
    " bini-8.2.1.jar lib/commons-lang3-3.12.0.jar\r\n"
    "Built-By: a-very-long-build-user-name-on-the-release-build-machine-numb\r\n"
    " er-7\r\n"
    "\r\n"
)
UNWRAPPED = (
    "Manifest-Version: 1.0\n"
    "Class-Path: lib/kofu-core-8.2.1.jar lib/kofu-print-8.2.1.jar lib/kofu-konbini-8.2.1.jar lib/commons-lang3-3.12.0.jar\n"
    "\n"
)


def test_manifest_continuation_lines_and_line_ends_do_not_count() -> None:
    base = content_sha256_bytes(build_zip(CLASSES, manifest=UNWRAPPED))
    assert content_sha256_bytes(build_zip(CLASSES, manifest=WRAPPED)) == base
    assert content_sha256_bytes(build_zip(CLASSES, manifest=WRAPPED.replace("\r\n", "\n"))) == base
    assert content_sha256_bytes(build_zip(CLASSES, manifest=UNWRAPPED.replace("\n", "\r\n"))) == base
    assert content_sha256_bytes(build_zip(CLASSES, manifest=UNWRAPPED.replace("\n", "\r"))) == base


def test_a_changed_class_path_in_a_wrapped_manifest_counts() -> None:
    changed = WRAPPED.replace("commons-lang3-3.12.0", "commons-lang3-3.13.0")
    before, after = build_zip(CLASSES, manifest=WRAPPED), build_zip(CLASSES, manifest=changed)
    assert content_sha256_bytes(after) != content_sha256_bytes(before)


def test_volatile_attributes_are_dropped_in_any_case_and_in_every_section() -> None:
    plain = "Manifest-Version: 1.0\n\nName: com/kofu/print/\nSealed: true\n\n"
    noisy = (
        "Manifest-Version: 1.0\nbuilt-by: ci\nBUILD-DATE: 2023-04-22\n\n"
        "Name: com/kofu/print/\nSealed: true\nCreated-By: bnd\nBnd-LastModified: 1682158272000\n\n"
    )
    assert content_sha256_bytes(build_zip(CLASSES, manifest=noisy)) == content_sha256_bytes(build_zip(CLASSES, manifest=plain))
    sealed_off = plain.replace("Sealed: true", "Sealed: false")
    unsealed = build_zip(CLASSES, manifest=sealed_off)
    assert content_sha256_bytes(unsealed) != content_sha256_bytes(build_zip(CLASSES, manifest=noisy))


def test_a_file_stream_gives_the_same_hash_as_bytes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    data = build_zip(CLASSES)
    path = tmp_path / "kofu-print.jar"
    path.write_bytes(data)
    with open(path, "rb") as handle:
        assert content_sha256(handle) == content_sha256_bytes(data)


def _deflated_single(data: bytes) -> tuple[bytes, int]:
    """A zip with one deflated entry, and the offset of its compressed data."""
    raw = build_zip({"a/B.class": data}, manifest=None, folders=False)
    assert raw[:4] == b"PK\x03\x04"
    name_len, extra_len = struct.unpack("<HH", raw[26:30])
    return raw, 30 + name_len + extra_len


def _unsupported_version(data: bytes) -> bytes:
    out = bytearray(data)
    central = out.index(b"PK\x01\x02")
    out[central + 6 : central + 8] = struct.pack("<H", 99)  # "version needed to extract": 9.9
    return bytes(out)


def _broken_deflate_stream() -> bytes:
    raw, start = _deflated_single(b"class bytes " * 500)
    out = bytearray(raw)
    out[start] = 0x07  # a final block of the reserved type 3: zlib refuses the stream
    return bytes(out)


def _bad_crc() -> bytes:
    stored = build_zip({"a.txt": b"hello world"}, manifest=None, folders=False, compression=zipfile.ZIP_STORED)
    out = bytearray(stored)
    out[out.index(b"hello")] = ord("j")
    return bytes(out)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"PK\x03\x04 not really a zip at all" * 20, id="garbage"),
        pytest.param(build_zip(CLASSES)[:-30], id="truncated"),
        pytest.param(_broken_deflate_stream(), id="broken deflate stream"),
        pytest.param(_bad_crc(), id="bad crc"),
        pytest.param(_unsupported_version(build_zip(CLASSES, folders=False)), id="unsupported zip version"),
    ],
)
def test_a_corrupt_archive_raises_archive_error(data: bytes) -> None:
    with pytest.raises(ArchiveError) as caught:
        content_sha256_bytes(data)
    assert str(caught.value)


def test_golden_value_pins_the_algorithm() -> None:
    """drift-content/1 computed by hand from the docstring, and pinned as a literal."""
    assert ALGORITHM == "drift-content/1"
    manifest = b"Manifest-Version: 1.0\r\nBuilt-By: alice\r\nCreated-By: Maven\r\nImplementation-Title: kofu\r\n  -print\r\n\r\n"
    entries = [("b.txt", b"hi\n"), ("B.txt", b"HI\n"), ("\u7a93\u53e3.txt", b"madoguchi"), ("a/A.class", b"\xca\xfe\xba\xbe")]
    jar = build_zip(entries, manifest=manifest)

    normalised = b"Manifest-Version: 1.0\nImplementation-Title: kofu -print\n\n"
    records = [b"META-INF/MANIFEST.MF\0" + hashlib.sha256(normalised).hexdigest().encode("ascii") + b"\n"]
    for name, data in entries:
        records.append(name.encode("utf-8") + b"\0" + hashlib.sha256(data).hexdigest().encode("ascii") + b"\n")
    records.sort()
    assert [r.split(b"\0")[0] for r in records] == [
        b"B.txt",
        b"META-INF/MANIFEST.MF",
        b"a/A.class",
        b"b.txt",
        "\u7a93\u53e3.txt".encode(),
    ]
    by_hand = hashlib.sha256(b"".join(records)).hexdigest()

    assert content_sha256_bytes(jar) == by_hand
    assert by_hand == GOLDEN


GOLDEN = "b01f8c7d25194e0def2029a12385c271bc8bb6089e8b0c1d3ed34dee8177775b"
