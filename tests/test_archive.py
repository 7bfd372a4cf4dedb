"""The content hash of zip-family archives, `content-sha256` (SPEC 2), algorithm `drift-content/1`."""

from __future__ import annotations

import hashlib
import io
import struct
import time
import tracemalloc
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drift.collect import archive
from drift.collect.archive import (
    ALGORITHM,
    ArchiveError,
    ArchiveRefused,
    content_sha256,
    content_sha256_bytes,
    normalise_manifest,
)

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


# --- hostile archives: refused in bounded time and memory -----------------------------------------------------


WAR_GOLDEN = "fa099686f5c92fcc73f06d6d9cc814bab5eba9248154a2fb7b4bd12ff8294248"


def test_an_ordinary_war_with_nested_archives_hashes_as_before_the_limits() -> None:
    """Pinned with the reader used before the limits: stored, deflated, bzip2 and LZMA entries, three levels."""
    inner_stored = build_zip(CLASSES, manifest=MANIFEST_LAPTOP, compression=zipfile.ZIP_STORED)
    inner_deflated = build_zip({"x/Y.class": b"\xca\xfe\xba\xbe y" * 100}, manifest=WRAPPED)
    inner_inner = build_zip(
        {"deep/lib/core.jar": inner_deflated, "deep/readme.txt": b"deep\n"}, manifest=None, compression=zipfile.ZIP_BZIP2
    )
    war = build_zip(
        {
            "WEB-INF/web.xml": b"<web-app/>",
            "WEB-INF/lib/print.jar": inner_stored,
            "WEB-INF/lib/core.jar": inner_deflated,
            "WEB-INF/lib/fake.jar": b"not a zip",
            "WEB-INF/lib/nest.zip": inner_inner,
            "big.bin": bytes(range(256)) * 4096,
        },
        manifest=MANIFEST_LAPTOP,
        compression=zipfile.ZIP_LZMA,
    )
    assert content_sha256_bytes(war) == WAR_GOLDEN


def _refused(
    tmp_path: Path, data: bytes, reason: str, *, kind: type[ArchiveError] = ArchiveRefused, name: str = "x.jar"
) -> str:
    """Hash `data` from a real file as the collector does; it must raise `kind` (exactly) with `reason` in its
    message, well under 5 s and without holding more than a few MiB."""
    path = tmp_path / name
    path.write_bytes(data)
    with open(path, "rb", buffering=0) as handle:
        tracemalloc.start()
        began = time.monotonic()
        try:
            with pytest.raises(ArchiveError) as caught:
                content_sha256(handle)
            elapsed = time.monotonic() - began
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    message = str(caught.value)
    assert type(caught.value) is kind, message
    assert reason in message
    assert elapsed < 5
    assert peak < 8 << 20
    return message


def _zeros_bomb(size: int = 10_000_000, *, name: str = "zeros.bin", compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    return build_zip({name: bytes(size)}, manifest=None, folders=False, compression=compression, level=9)


def test_a_zip_bomb_stops_at_the_expansion_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bomb = _zeros_bomb()  # 10 MB of zeros in about 10 KB
    assert len(bomb) < 20_000
    monkeypatch.setattr(archive.limits, "MAX_EXPANDED", 1 << 20)
    _refused(tmp_path, bomb, "expands to more than 1 MiB uncompressed, the limit of 1 MiB; stopped in entry 'zeros.bin'")


def test_a_small_archive_may_expand_to_200_times_its_size_once_past_the_floor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bomb = _zeros_bomb()
    # Under the 64 MiB floor: an ordinary (if very compressible) archive.
    records = b"zeros.bin\0" + sha(bytes(10_000_000)).encode() + b"\n"
    assert content_sha256_bytes(bomb) == sha(records)
    monkeypatch.setattr(archive.limits, "RATIO_FLOOR", 1 << 20)
    message = _refused(tmp_path, bomb, f"expands to more than {200 * len(bomb)} bytes uncompressed")
    assert f"the limit for an archive of {len(bomb)} bytes (200 times its size, at least 1 MiB)" in message


def test_a_bzip2_bomb_is_decompressed_a_chunk_at_a_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # 30 MiB of zeros in a bzip2 stream of about 50 bytes: zipfile's reader would inflate it in one call.
    bomb = _zeros_bomb(30 << 20, compression=zipfile.ZIP_BZIP2)
    assert len(bomb) < 300
    path = tmp_path / "bz.zip"
    path.write_bytes(bomb)
    with open(path, "rb", buffering=0) as handle:
        tracemalloc.start()
        try:
            digest = content_sha256(handle)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert digest == sha(b"zeros.bin\0" + sha(bytes(30 << 20)).encode() + b"\n")
    assert peak < 8 << 20
    monkeypatch.setattr(archive.limits, "MAX_EXPANDED", 3 << 20)
    _refused(tmp_path, bomb, "expands to more than 3 MiB uncompressed")


def test_a_bomb_in_a_nested_archive_refuses_the_outer_archive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    outer = build_zip({"WEB-INF/lib/bomb.jar": _zeros_bomb(), "index.jsp": b"<%= 1 %>"})
    monkeypatch.setattr(archive.limits, "MAX_EXPANDED", 4 << 20)
    # Not hashed by the nested archive's bytes instead: the limit holds across nesting.
    reason = "expands to more than 4 MiB uncompressed, the limit of 4 MiB; stopped in entry 'WEB-INF/lib/bomb.jar!/zeros.bin'"
    _refused(tmp_path, outer, reason)


def test_a_layered_bomb_is_refused_with_the_default_limits(tmp_path: Path) -> None:
    # Eight nested archives of 10 MB each in about 80 KB: 80 MB past the 64 MiB floor, refused by the ratio.
    inner = _zeros_bomb()
    outer = build_zip({f"lib/bomb{i}.jar": inner for i in range(8)}, manifest=None, folders=False)
    assert len(outer) < 100_000
    _refused(tmp_path, outer, "expands to more than 64 MiB uncompressed, the limit for an archive of")


def test_overlapping_entries_are_refused(tmp_path: Path) -> None:
    # The zip bomb without nesting: many central directory records share one entry's data.
    single = _zeros_bomb(1000)
    end = single.rindex(b"PK\x05\x06")
    directory_size, directory_offset = struct.unpack("<II", single[end + 12 : end + 20])
    record = single[directory_offset : directory_offset + directory_size]
    copies = 50
    end_record = bytearray(single[end:])
    end_record[8:16] = struct.pack("<HHI", copies, copies, directory_size * copies)
    forged = single[:directory_offset] + record * copies + bytes(end_record)
    assert len(zipfile.ZipFile(io.BytesIO(forged)).infolist()) == copies
    _refused(tmp_path, forged, "entry 'zeros.bin' overlaps the next entry or the central directory")


def test_a_nested_archive_over_the_nested_limit_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    inner = build_zip({"blob.bin": bytes(range(256)) * 400}, manifest=None, compression=zipfile.ZIP_STORED)
    outer = build_zip({"lib/big.jar": inner, "a.txt": b"a"}, manifest=None)
    expected = content_sha256_bytes(outer)
    monkeypatch.setattr(archive.limits, "MAX_NESTED", 64 << 10)
    _refused(tmp_path, outer, "nested archive 'lib/big.jar' is bigger than 64 KiB uncompressed")
    # Summed down the nesting: each of these is under the limit, the two together are not.
    half = build_zip({"blob.bin": bytes(range(256)) * 140}, manifest=None, compression=zipfile.ZIP_STORED)
    middle = build_zip({"lib/half.jar": half}, manifest=None, compression=zipfile.ZIP_STORED)
    assert len(half) < len(middle) < 64 << 10 < len(half) + len(middle)
    reason = "nested archive 'lib/middle.jar!/lib/half.jar' is bigger than 64 KiB"
    _refused(tmp_path, build_zip({"lib/middle.jar": middle}, manifest=None), reason)
    monkeypatch.setattr(archive.limits, "MAX_NESTED", 256 << 20)
    assert content_sha256_bytes(outer) == expected


def _end_record(data: bytes) -> int:
    return data.rindex(b"PK\x05\x06")


def _claiming(data: bytes, entries: int) -> bytes:
    """The archive with the entry counts of its end of central directory record rewritten."""
    out = bytearray(data)
    end = _end_record(data)
    out[end + 8 : end + 12] = struct.pack("<HH", entries, entries)
    return bytes(out)


def _zip64(data: bytes, entries: int | None = None, directory_size: int | None = None) -> bytes:
    """The archive with a ZIP64 end of central directory record and locator, the plain end record pointing to them."""
    end = _end_record(data)
    count, size, offset = struct.unpack("<HII", data[end + 10 : end + 20])
    record64 = struct.pack(
        "<4sQHHIIQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0,
        count if entries is None else entries, count if entries is None else entries,
        size if directory_size is None else directory_size, offset,
    )
    locator = struct.pack("<4sIQI", b"PK\x06\x07", 0, end, 1)
    plain = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    return data[:end] + record64 + locator + plain


def test_a_zip64_end_record_is_read() -> None:
    jar = build_zip(CLASSES)
    forged = _zip64(jar)
    assert len(zipfile.ZipFile(io.BytesIO(forged)).infolist()) == len(zipfile.ZipFile(io.BytesIO(jar)).infolist())
    assert content_sha256_bytes(forged) == content_sha256_bytes(jar)


@pytest.mark.parametrize("entries", [5_000_000, 2**64 - 1])
def test_a_zip64_end_record_claiming_millions_of_entries_is_refused(tmp_path: Path, entries: int) -> None:
    reason = f"its end of central directory record claims {entries} entries, more than the limit of 100000"
    _refused(tmp_path, _zip64(build_zip(CLASSES), entries), reason)


def test_an_end_record_claiming_more_entries_than_the_limit_is_refused_before_reading_the_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A plain end record counts in 16 bits: 65535 at most (more takes a ZIP64 record, above).
    jar = build_zip(CLASSES)
    _refused(tmp_path, _claiming(jar, 0xFFFE), "the central directory of", kind=ArchiveError)  # too small for them
    monkeypatch.setattr(archive.limits, "MAX_ENTRIES", 50_000)
    reason = "its end of central directory record claims 65534 entries, more than the limit of 50000"
    _refused(tmp_path, _claiming(jar, 0xFFFE), reason)


def test_a_central_directory_listing_more_entries_than_the_limit_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    many = build_zip({f"c/C{i}.class": b"\xca\xfe" for i in range(20)}, manifest=None, folders=False)
    monkeypatch.setattr(archive.limits, "MAX_ENTRIES", 10)
    _refused(tmp_path, many, "claims 20 entries, more than the limit of 10")
    # An end record that understates the count is not believed: the records are counted.
    _refused(tmp_path, _claiming(many, 1), "its central directory lists more than 10 entries")


def test_entries_of_nested_archives_count_against_the_limits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ten = build_zip({f"c/C{i}.class": b"\xca\xfe" for i in range(10)}, manifest=None, folders=False)
    outer = build_zip({f"lib/j{i}.jar": ten for i in range(3)}, manifest=None, folders=False)
    monkeypatch.setattr(archive.limits, "MAX_TOTAL_ENTRIES", 25)
    _refused(tmp_path, outer, "nested archive 'lib/j2.jar': lists more than 25 entries in all")
    monkeypatch.setattr(archive.limits, "MAX_TOTAL_ENTRIES", 1000)
    monkeypatch.setattr(archive.limits, "MAX_ENTRIES", 12)
    reason = "nested archive 'lib/j0.jar': its end of central directory record claims 10 entries, more than the 9 left"
    _refused(tmp_path, outer, reason)


def test_a_central_directory_too_big_for_the_file_or_the_limit_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    jar = build_zip(CLASSES)
    out = bytearray(jar)
    end = _end_record(jar)
    out[end + 12 : end + 16] = struct.pack("<I", 0x7FFFFFFF)
    _refused(tmp_path, bytes(out), "the central directory of 2147483647 bytes does not fit", kind=ArchiveError)
    reason = f"the central directory of {2**62} bytes does not fit"
    _refused(tmp_path, _zip64(jar, directory_size=2**62), reason, kind=ArchiveError)
    monkeypatch.setattr(archive.limits, "MAX_CENTRAL_DIRECTORY", 256)
    _refused(tmp_path, jar, "bytes is bigger than the limit of 256 bytes")


def _nul_name() -> bytes:
    data = build_zip({"evilXname.txt": b"x"}, manifest=None, folders=False)
    assert data.count(b"evilXname") == 2  # local header and central directory
    return data.replace(b"evilXname", b"evil\0name")


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("../../etc/passwd", "has a '..' segment"),
        ("WEB-INF/../../../opt/app/lib/x.class", "has a '..' segment"),
        ("..\\..\\boot.ini", "has a '..' segment"),
        ("../evil/", "has a '..' segment"),  # a directory entry: never read, still refused
        ("/etc/passwd", "is absolute"),
        ("\\windows\\win.ini", "is absolute"),
        ("C:/windows/win.ini", "is absolute"),
    ],
)
def test_a_hostile_entry_name_is_refused(tmp_path: Path, name: str, reason: str) -> None:
    data = build_zip({**CLASSES, name: b"x"}, folders=False)
    assert name.encode() in data
    _refused(tmp_path, data, f"entry name {name!r} {reason}")


def test_a_nul_in_an_entry_name_is_refused(tmp_path: Path) -> None:
    _refused(tmp_path, _nul_name(), "entry name 'evil\\x00name.txt' holds a NUL")


def test_a_hostile_name_in_a_nested_archive_refuses_the_outer_archive(tmp_path: Path) -> None:
    inner = build_zip({"../../etc/cron.d/x": b"* * * * * root sh\n"}, manifest=None, folders=False)
    _refused(tmp_path, build_zip({"lib/inner.jar": inner}), "entry name 'lib/inner.jar!/../../etc/cron.d/x' has a '..' segment")


def test_dots_that_are_not_a_segment_are_fine() -> None:
    entries = {"a..b/c..d.txt": b"1", ".../x": b"2", "a/.hidden": b"3"}
    records = sorted(name.encode() + b"\0" + sha(data).encode() + b"\n" for name, data in entries.items())
    assert content_sha256_bytes(build_zip(entries, manifest=None, folders=False)) == sha(b"".join(records))


@pytest.mark.parametrize(
    ("cut", "reason"),
    [
        pytest.param(lambda d: d[: len(d) // 2], "no end of central directory record", id="half"),
        pytest.param(lambda d: d[:-1], "", id="last byte"),
        pytest.param(lambda d: d[:-30], "no end of central directory record", id="end record and more"),
        pytest.param(lambda d: d[: d.index(b"PK\x01\x02") - 5] + d[d.index(b"PK\x01\x02"):], "", id="data cut out"),
    ],
)
def test_a_truncated_archive_is_not_readable(tmp_path: Path, cut: Callable[[bytes], bytes], reason: str) -> None:
    _refused(tmp_path, cut(build_zip(CLASSES)), reason, kind=ArchiveError)


def test_bytes_after_the_end_record_make_the_archive_unreadable(tmp_path: Path) -> None:
    jar = build_zip(CLASSES)
    _refused(tmp_path, jar + b"garbage", "7 bytes follow the end of central directory record", kind=ArchiveError)
    _refused(tmp_path, jar + bytes(4096), "4096 bytes follow the end of central directory record", kind=ArchiveError)
    # A nested one is hashed by its bytes, like any nested archive that is not readable.
    padded = jar + b"\0\0"
    outer = build_zip({"lib/padded.jar": padded}, manifest=None, folders=False)
    assert content_sha256_bytes(outer) == sha(b"lib/padded.jar\0" + sha(padded).encode() + b"\n")


def test_an_archive_comment_does_not_count() -> None:
    jar = build_zip(CLASSES)
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(jar)) as source, zipfile.ZipFile(buffer, "w") as copy:
        copy.comment = b"built by CI"
        for info in source.infolist():
            copy.writestr(info, source.read(info))
    assert buffer.getvalue() != jar
    assert content_sha256_bytes(buffer.getvalue()) == content_sha256_bytes(jar)


class _Unseekable(io.RawIOBase):
    """A write-only stream without seek: zipfile then writes data descriptors, as `jar` and JarOutputStream do."""

    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:  # type: ignore[no-untyped-def]
        self.data += b
        return len(b)


def test_data_descriptors_zip64_entries_and_a_prepended_launch_script_do_not_count() -> None:
    jar = build_zip(CLASSES)
    base = content_sha256_bytes(jar)
    streamed = _Unseekable()
    with zipfile.ZipFile(io.BytesIO(jar)) as source, zipfile.ZipFile(streamed, "w", zipfile.ZIP_DEFLATED) as copy:
        for info in source.infolist():
            with copy.open(zipfile.ZipInfo(info.filename, info.date_time), "w", force_zip64=True) as entry:
                entry.write(source.read(info))
    data = bytes(streamed.data)
    with zipfile.ZipFile(io.BytesIO(data)) as check:
        assert all(info.flag_bits & 0x08 for info in check.infolist())  # data descriptors
    assert content_sha256_bytes(data) == base
    # Spring Boot's "fully executable" jars start with a shell script; the offsets stay relative to the zip.
    script = b"#!/bin/bash\n# launch script\nexec java -jar \"$0\" \"$@\"\n"
    assert content_sha256_bytes(script + jar) == base


def test_an_entry_size_that_disagrees_with_the_central_directory_is_not_readable(tmp_path: Path) -> None:
    stored = build_zip({"a.txt": b"hello world"}, manifest=None, folders=False, compression=zipfile.ZIP_STORED)
    central = stored.index(b"PK\x01\x02")
    out = bytearray(stored)
    out[central + 24 : central + 28] = struct.pack("<I", 5)  # uncompressed size
    _refused(tmp_path, bytes(out), "entry 'a.txt' holds more than the 5 bytes of the central directory", kind=ArchiveError)


def test_a_manifest_over_the_limit_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    manifest = "Manifest-Version: 1.0\n" + "".join(f"Name: c/C{i}.class\nSHA-256-Digest: {'A' * 44}\n\n" for i in range(40))
    jar = build_zip(CLASSES, manifest=manifest)
    monkeypatch.setattr(archive.limits, "MAX_MANIFEST", 1024)
    _refused(tmp_path, jar, "manifest 'META-INF/MANIFEST.MF' is bigger than the limit of 1 KiB")


def test_an_lzma_dictionary_over_the_limit_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    jar = build_zip({"a.bin": bytes(range(256)) * 400}, manifest=None, compression=zipfile.ZIP_LZMA)
    expected = content_sha256_bytes(jar)
    monkeypatch.setattr(archive.limits, "MAX_LZMA_DICTIONARY", 64 << 10)
    # The smaller of the declared dictionary (8 MiB) and the entry's size (100 KiB) counts.
    _refused(tmp_path, jar, "entry 'a.bin' needs an LZMA dictionary of 100 KiB, more than the limit of 64 KiB")
    monkeypatch.setattr(archive.limits, "MAX_LZMA_DICTIONARY", 128 << 10)
    assert content_sha256_bytes(jar) == expected


# --- the manifest normalisation, against the line-by-line definition ------------------------------------------


def _normalise_by_lines(data: bytes) -> bytes:
    """The definition in the docstring, line by line (as drift-content/1 was first written)."""
    text = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    logical: list[bytes] = []
    for line in text.split(b"\n"):
        if line.startswith(b" ") and logical:
            logical[-1] += line[1:]
        else:
            logical.append(line)
    volatile = {"built-by", "build-jdk", "build-jdk-spec", "created-by", "build-time", "build-date", "bnd-lastmodified"}
    kept = [line for line in logical if line.split(b":", 1)[0].strip().lower().decode("utf-8", "replace") not in volatile]
    return b"\n".join(kept)


_MANIFEST_PIECES = st.sampled_from(
    [b"\n", b"\r\n", b"\r", b" ", b"\t", b"\x0b", b"\x0c", b"\x1c", b":", b": ", b"x", b"\xff", b"\xc3\xa9",
     b"Built-By", b"BUILT-by", b"build-jdk", b"Build-Jdk-Spec", b"Created-By", b"Build-Time", b"Build-Date",
     b"Bnd-LastModified", b"Built-By-Not", b"Build-", b"Manifest-Version: 1.0", b"Name: a/B.class"]
)


@given(st.lists(_MANIFEST_PIECES, max_size=40).map(b"".join))
@settings(max_examples=600, deadline=None)
def test_the_manifest_normalisation_matches_its_line_by_line_definition(data: bytes) -> None:
    assert normalise_manifest(data) == _normalise_by_lines(data)


@pytest.mark.parametrize(
    "data",
    [b"", b"\n", b" ", b" x", b"\n x", b"Built-By: a", b"a\nBuilt-By: b", b"Built-By: a\n", b"a\n \n b", b"\n\n",
     MANIFEST_CI.encode(), MANIFEST_LAPTOP.encode(), WRAPPED.encode(), b"Built-By x: y\n built-by\n"],
)
def test_the_manifest_normalisation_on_edge_cases(data: bytes) -> None:
    assert normalise_manifest(data) == _normalise_by_lines(data)


def test_a_manifest_of_many_continuation_lines_is_normalised_in_linear_time() -> None:
    hostile = b"Class-Path: a" + b"\n b" * 2_000_000  # joined one line at a time, this is quadratic
    began = time.monotonic()
    assert normalise_manifest(hostile) == b"Class-Path: a" + b"b" * 2_000_000
    spaces = b" " * 4_000_000
    assert normalise_manifest(b"x\n" + spaces + b"y") == b"x" + spaces[1:] + b"y"
    assert normalise_manifest(b"Built-By" + spaces + b"x\n") == b"Built-By" + spaces + b"x\n"
    assert normalise_manifest(b"x\n\n" * 2_000_000) == b"x\n\n" * 2_000_000
    assert time.monotonic() - began < 5


def test_a_descriptor_window_gives_the_same_hash_and_never_reads_past_its_size(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The collector hashes an archive from the descriptor it read, up to the size fstat gave: bytes the
    file grew by afterwards are not seen, and the descriptor's offset is left where it was."""
    import os

    from drift.collect.archive import content_sha256_fd

    data = build_zip(CLASSES)
    path = tmp_path / "kofu-print.jar"
    path.write_bytes(data + b"grown after the fstat" * 1000)  # would be "bytes after the end record"
    fd = os.open(path, os.O_RDONLY)
    try:
        os.lseek(fd, 7, os.SEEK_SET)
        assert content_sha256_fd(fd, len(data)) == content_sha256_bytes(data)
        assert os.lseek(fd, 0, os.SEEK_CUR) == 7
        with pytest.raises(ArchiveError):
            content_sha256_fd(fd, len(data) + 21)  # the whole file: trailing bytes
    finally:
        os.close(fd)


# Archives that read one way to Java and another to Python's zipfile: the content hash must never be the one
# of bytes Java does not run. Built by hand, record by record.
_DOS_DATE = (2020 - 1980) << 9 | 1 << 5 | 1


def _local(name: bytes, data: bytes) -> bytes:
    return struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 0, 0, _DOS_DATE, zlib.crc32(data), len(data), len(data),
                       len(name), 0) + name + data


def _central(name: bytes, data: bytes, offset: int, extra: bytes = b"") -> bytes:
    return struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, 0, 0, _DOS_DATE, zlib.crc32(data), len(data), len(data),
                       len(name), len(extra), 0, 0, 0, 0, offset) + name + extra


def _end(count: int, size: int, offset: int) -> bytes:
    return struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, count, count, size, offset, 0)


FIXED_CLASS, UNFIXED_CLASS = b"\xca\xfe\xba\xbe fixed", b"\xca\xfe\xba\xbe unfixed"


def test_a_zip64_record_naming_another_directory_than_the_end_record_gives_no_content_hash() -> None:
    """Directory 1 (the unfixed class) is the end record's, which Java reads while no field of it is saturated;
    a ZIP64 end record and locator hidden in an extra field of directory 1's last record, just before the end
    record, name directory 2 (the fixed class), which zipfile reads. Both must read the same, or no hash."""
    name = b"demo/Core.class"
    body = _local(name, FIXED_CLASS)
    unfixed_at = len(body)
    body += _local(name, UNFIXED_CLASS)
    start = len(body)
    header = 46 + len(name) + 4  # directory 1's record, up to its extra block
    hidden_start = start + header
    directory2 = _central(name, FIXED_CLASS, 0)
    record64_at = hidden_start + len(directory2)
    record64 = struct.pack("<4sQHHIIQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, 1, 1, len(directory2), hidden_start)
    hidden = directory2 + record64 + struct.pack("<4sIQI", b"PK\x06\x07", 0, record64_at, 1)
    directory1 = _central(name, UNFIXED_CLASS, unfixed_at, extra=struct.pack("<HH", 0x6666, len(hidden)) + hidden)
    forged = body + directory1 + _end(1, len(directory1), start)
    assert zipfile.ZipFile(io.BytesIO(forged)).read("demo/Core.class") == FIXED_CLASS  # what zipfile alone would hash
    with pytest.raises(ArchiveError, match="name different central directories"):
        content_sha256_bytes(forged)


def test_a_zip64_record_away_from_where_its_locator_says_gives_no_content_hash() -> None:
    jar = _zip64(build_zip(CLASSES))
    at = jar.rindex(b"PK\x06\x07")
    moved = jar[: at + 8] + struct.pack("<Q", 12345) + jar[at + 16 :]
    with pytest.raises(ArchiveError, match="not where its locator says"):
        content_sha256_bytes(moved)


def test_the_unicode_path_extra_field_never_renames_an_entry() -> None:
    """Java ignores the Info-ZIP Unicode Path field (0x7075); zipfile on Python 3.12+ takes the name from it.
    The content hash uses the stored name, so the same archive hashes the same on every Python, and the
    unfixed class that Java loads as demo/Core.class is hashed under that name."""
    def unicode_path(raw: bytes, shown: str) -> bytes:
        body = struct.pack("<BI", 1, zlib.crc32(raw)) + shown.encode()
        return struct.pack("<HH", 0x7075, len(body)) + body

    entries = [(b"demo/Core.class", UNFIXED_CLASS, unicode_path(b"demo/Core.class", "demo/Core.class/")),
               (b"demo/Fixed.bin", FIXED_CLASS, unicode_path(b"demo/Fixed.bin", "demo/Core.class"))]
    body, directory = b"", b""
    for name, data, extra in entries:
        directory += _central(name, data, len(body), extra)
        body += _local(name, data)
    forged = body + directory + _end(2, len(directory), len(body))
    plain = build_zip({"demo/Core.class": UNFIXED_CLASS, "demo/Fixed.bin": FIXED_CLASS}, manifest=None, folders=False)
    assert content_sha256_bytes(forged) == content_sha256_bytes(plain)
    assert content_sha256_bytes(forged) != content_sha256_bytes(build_zip({"demo/Core.class": FIXED_CLASS}, manifest=None, folders=False))


def test_a_directory_entry_that_holds_data_is_refused() -> None:
    """Java's class loader, asked for demo/Gadget.class, finds an entry named demo/Gadget.class/: a class kept
    under a directory's name is still loaded, so it can never be left out of the hash as a directory."""
    jar = build_zip({"demo/Core.class": FIXED_CLASS, "demo/Gadget.class/": b"\xca\xfe\xba\xbe gadget"}, folders=False)
    with pytest.raises(ArchiveRefused, match="directory entry 'demo/Gadget.class/' holds data"):
        content_sha256_bytes(jar)
    empty = build_zip({"demo/": b"", "demo/Core.class": FIXED_CLASS}, folders=False)
    assert content_sha256_bytes(empty) == content_sha256_bytes(build_zip({"demo/Core.class": FIXED_CLASS}, folders=False))


def test_an_entry_with_two_zip64_fields_gives_no_content_hash() -> None:
    """Java reads an entry's first ZIP64 field, zipfile each in turn: with two, the offset Java takes (the
    first still saturated, so 4 GiB on) and the one zipfile takes (from the second) name other bytes."""
    name = b"demo/Core.class"
    body = _local(name, FIXED_CLASS)
    fields = struct.pack("<HHQ", 1, 8, 0xFFFFFFFF) + struct.pack("<HHQ", 1, 8, 0)
    record = bytearray(_central(name, FIXED_CLASS, 0xFFFFFFFF, extra=fields))
    forged = body + bytes(record) + _end(1, len(record), len(body))
    with pytest.raises(ArchiveError, match="more than one ZIP64 field"):
        content_sha256_bytes(forged)


@pytest.mark.parametrize("where", ["between two entries", "before the first entry"])
def test_a_local_entry_the_central_directory_does_not_list_gives_no_content_hash(where: str) -> None:
    """A reader that walks local headers (`JarInputStream`, as Tomcat reads a jar inside a war) takes the
    first `demo/Core.class` it meets: an unlisted one with the unfixed class is never hidden from it."""
    name, manifest = b"demo/Core.class", b"META-INF/MANIFEST.MF"
    hidden = _local(name, UNFIXED_CLASS)
    head = _local(manifest, b"Manifest-Version: 1.0\r\n\r\n")
    if where == "between two entries":
        body = head + hidden
        offsets = (0, len(body))
    else:
        body = hidden + head
        offsets = (len(hidden), len(body))
    body += _local(name, FIXED_CLASS)
    directory = _central(manifest, b"Manifest-Version: 1.0\r\n\r\n", offsets[0]) + _central(name, FIXED_CLASS, offsets[1])
    forged = body + directory + _end(2, len(directory), len(body))
    assert zipfile.ZipFile(io.BytesIO(forged)).read("demo/Core.class") == FIXED_CLASS
    with pytest.raises(ArchiveError, match="belong to no listed entry|before its first entry hold a local header"):
        content_sha256_bytes(forged)


def test_a_data_descriptor_after_an_entry_is_no_stray_bytes() -> None:
    """Streamed entries (`jar`, ZipOutputStream) end with a data descriptor: that gap is the entry's own."""
    out = _Unseekable()
    with zipfile.ZipFile(out, "w") as archive, archive.open(zipfile.ZipInfo("demo/Core.class"), "w") as entry:
        entry.write(FIXED_CLASS)
    streamed = bytes(out.data)
    assert zipfile.ZipFile(io.BytesIO(streamed)).infolist()[0].flag_bits & 0x08
    assert content_sha256_bytes(streamed) == content_sha256_bytes(build_zip({"demo/Core.class": FIXED_CLASS}, manifest=None, folders=False))


_ODD = st.sampled_from(["a", "J", "R", ".", "/", "\u0130", "\u03a3", "\u212a", "\u0307", "\u00c5", "\u212b", "\uff2a", "\udc80"])
"""Characters that lower oddly: to two characters (\u0130), by context (\u03a3), to ASCII (the Kelvin and
Angstrom signs), a combining dot, a full-width J, a surrogate escape."""


@given(st.text(alphabet=_ODD, max_size=4), st.sampled_from(["", ".jar", ".JAR", ".jAr", ".war", ".Zip", ".EAR", "jar", ".ja", ".j\u0130r"]),
       st.text(alphabet=_ODD, max_size=2))
def test_is_archive_name_is_the_lowered_name_ending_in_a_suffix(head: str, suffix: str, tail: str) -> None:
    from drift.collect.archive.names import ARCHIVE_SUFFIXES, archive_names, is_archive_name

    names = [head + suffix, head + suffix + tail, suffix + tail]
    for name in names:
        assert is_archive_name(name) == name.lower().endswith(ARCHIVE_SUFFIXES), name
    assert archive_names(names) == [name for name in names if name.lower().endswith(ARCHIVE_SUFFIXES)]
