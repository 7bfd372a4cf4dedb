"""Reading an inventory's files from lines seen in other inventories gives exactly what the long way gives,
and anything that is not a canonical line seen before is read (or refused) the long way."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drift.errors import InventoryError
from drift.inventory import filelines
from drift.inventory.jsonfile import read_json_inventory
from drift.inventory.jsonwrite import dumps_inventory
from drift.inventory.model import ConfigValue, FileRecord, Unreadable
from tests.builders import redigest, refusal
from tests.builders import write_text as write

HEX = [c * 64 for c in "0123456789abcdef"]


@pytest.fixture(autouse=True)
def fresh_lines(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts with nothing learned."""
    monkeypatch.setattr(filelines, "_ROWS", {})
    monkeypatch.setattr(filelines, "_TALLY", filelines._Tally())
    yield


def inventory_text(files: dict[str, FileRecord], tenant: str = "402206") -> str:
    return dumps_inventory(
        tenant=tenant, collected_at="2023-06-14T00:00:00Z", collector="test", content_hash="drift-content/1",
        files=files, config=[ConfigValue("conf/a.properties", "k", "v")], unreadable=[Unreadable("x/locked", "denied")],
    ).decode()




def release(n: int, changed: int = 0) -> dict[str, FileRecord]:
    files = {f"app/F{i:04d}.java": FileRecord(100 + i, HEX[i % 16], None) for i in range(n)}
    files["lib/core.jar"] = FileRecord(7, HEX[1], HEX[2])
    for i in range(changed):
        files[f"app/F{i:04d}.java"] = FileRecord(1, HEX[(i + 5) % 16], None)
    return files


def test_the_second_inventory_of_a_release_is_read_from_known_lines(tmp_path):
    first = write(tmp_path, inventory_text(release(300)), "a.json")
    second = write(tmp_path, inventory_text(release(300, changed=3) | {"custom/X.java": FileRecord(1, HEX[9], None)}), "b.json")
    long_way = read_json_inventory(second)
    filelines._ROWS.clear()
    read_json_inventory(first)  # learns the release's lines
    looked, found = filelines._TALLY.looked, filelines._TALLY.found
    again = read_json_inventory(second)
    assert filelines._TALLY.found - found == 300 + 1 - 3  # all but the changed and the added lines
    assert filelines._TALLY.looked - looked == 302
    assert again == long_way
    assert dict(again.files) == dict(long_way.files) and list(again.files) == list(long_way.files)


paths = st.text(alphabet="abcé/._-", min_size=1, max_size=12).filter(
    lambda p: all(part not in ("", ".", "..") for part in p.split("/")))
records = st.builds(FileRecord, st.integers(0, 10**12), st.sampled_from(HEX), st.sampled_from([None, *HEX]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.dictionaries(paths, records, max_size=12), min_size=1, max_size=5))
def test_any_inventories_read_with_known_lines_equal_the_long_way(tmp_path, fleet):
    texts = [inventory_text(files, tenant=f"T{i}") for i, files in enumerate(fleet)]
    filelines._ROWS.clear()
    filelines._TALLY.__init__()
    learned = []
    for i, text in enumerate(texts):  # each after the ones before: later ones find lines of earlier ones
        learned.append(read_json_inventory(write(tmp_path, text, f"T{i}.json")))
    for i, text in enumerate(texts):
        filelines._ROWS.clear()
        assert read_json_inventory(write(tmp_path, text, f"T{i}.json")) == learned[i]


def test_a_new_line_that_is_not_a_well_formed_file_is_refused_the_long_way(tmp_path):
    read_json_inventory(write(tmp_path, inventory_text(release(100)), "a.json"))
    text = inventory_text(release(100)).replace(f'"sha256": "{HEX[3]}", "size": 103', '"sha256": "XYZ", "size": 103')
    path = write(tmp_path, redigest(text))
    assert "malformed hash" in refusal(InventoryError, lambda: read_json_inventory(path), path, "files[3].sha256")


def test_a_known_line_listed_twice_is_refused_the_long_way(tmp_path):
    read_json_inventory(write(tmp_path, inventory_text(release(100)), "a.json"))
    text = inventory_text(release(100))
    line = next(x for x in text.splitlines() if '"app/F0005.java"' in x)
    path = write(tmp_path, redigest(text.replace(line, line + "\n" + line)))
    assert "listed twice" in refusal(InventoryError, lambda: read_json_inventory(path), path, "files[6].path")


def test_other_layouts_are_read_the_long_way_with_the_same_result(tmp_path):
    text = inventory_text(release(50))
    expected = read_json_inventory(write(tmp_path, text, "a.json"))
    doc = json.loads(text)
    digest_line = f' "digest": "{doc.pop("digest")}"'
    for layout in (json.dumps(doc, indent=3), json.dumps(doc), json.dumps(doc, indent=1, sort_keys=True)):
        other = redigest(layout.rstrip("}").rstrip() + ",\n" + digest_line + "\n}\n")
        found = read_json_inventory(write(tmp_path, other, "b.json"))
        assert (found.files, found.config, found.unreadable) == (expected.files, expected.config, expected.unreadable)


def test_a_files_list_that_runs_into_another_member_is_read_the_long_way(tmp_path):
    read_json_inventory(write(tmp_path, inventory_text(release(20)), "a.json"))
    text = inventory_text(release(20))
    # a crafted document: the files list first, then a second member laid out like more file lines
    head, files_part = text.split(' "files": [\n')
    items, rest = files_part.split("\n ],\n")
    crafted = redigest(head + ' "files": [\n' + items + '\n ],\n "skipped": [\n' + items.split(",\n")[0] + "\n ],\n" + rest)
    path = write(tmp_path, crafted)
    with pytest.raises(InventoryError):
        read_json_inventory(path)


def test_a_fleet_that_shares_no_lines_stops_learning_and_looking(tmp_path, monkeypatch):
    monkeypatch.setattr(filelines, "_WARM_UP", 150)
    monkeypatch.setattr(filelines, "_TRIAL", 300)
    for t in range(8):
        files = {f"t{t}/F{i}.java": FileRecord(i, HEX[i % 16], None) for i in range(100)}
        read_json_inventory(write(tmp_path, inventory_text(files, tenant=f"T{t}"), f"T{t}.json"))
    assert filelines._TALLY.learned == 200  # two documents learned, then no more
    assert filelines._TALLY.looked == 400  # looked up while on trial, then no more


@pytest.mark.parametrize("bad", ["../etc/passwd", "/abs", "a//b", "C:/x"])
def test_a_new_line_with_a_path_outside_the_root_is_refused_the_long_way(tmp_path, bad):
    read_json_inventory(write(tmp_path, inventory_text(release(100)), "a.json"))
    path = write(tmp_path, redigest(inventory_text(release(100)).replace('"app/F0003.java"', json.dumps(bad))))
    with pytest.raises(InventoryError, match="files\\[") as caught:
        read_json_inventory(path)
    assert str(path) in str(caught.value)


def test_invalid_json_is_named_the_same_whether_its_lines_were_seen_or_not(tmp_path):
    text = inventory_text(release(50))
    body = text[: text.index(' "digest"')].replace('"config": [', '"config": {"x": [', 1)
    bad = write(tmp_path, redigest(body + ' "digest": "sha256:' + "0" * 64 + '"\n}\n'), "bad.json")

    def message() -> str:
        with pytest.raises(InventoryError) as caught:
            read_json_inventory(bad)
        return str(caught.value)

    cold = message()
    read_json_inventory(write(tmp_path, text, "good.json"))  # its lines are now known
    assert filelines._TALLY.learned > 0
    assert message() == cold and "invalid JSON" in cold
