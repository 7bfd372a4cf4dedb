"""Fields of a JSON inventory that the audited party writes and every output shows: refused unless well formed."""

from __future__ import annotations

import json

import pytest

from drift.errors import InventoryError
from drift.inventory.jsonfile import read_json_inventory
from drift.inventory.jsonwrite import dumps_inventory
from tests.builders import redigest


def write(tmp_path, **fields):
    doc = {"tenant": "402206", "collected_at": "2023-06-14T01:30:00Z", "collector": "drift 0.1.0", "content_hash": "drift-content/1",
           "files": {}, "config": [], "unreadable": [], **fields}
    path = tmp_path / "402206.json"
    path.write_bytes(dumps_inventory(**doc))
    return path


@pytest.mark.parametrize("value", ["2023-06-14T01:30:00Z", "2023-06-14T01:30:00.123456Z", "2023-06-14T01:30:00+00:00"])
def test_collected_at_in_rfc3339_utc_is_read(tmp_path, value):
    assert read_json_inventory(write(tmp_path, collected_at=value)).collected_at == value


@pytest.mark.parametrize("value", [
    "=HYPERLINK(\"http://x\",\"ok\")", "2023-06-14 01:30:00", "2023-06-14T01:30:00+09:00", "2023-02-30T01:30:00Z",
    "yesterday", "", "2023-06-14T01:30:00Z\n", "\x1b[32mPASS\x1b[0m",
])
def test_collected_at_of_any_other_shape_is_refused_naming_the_field(tmp_path, value):
    with pytest.raises(InventoryError) as caught:
        read_json_inventory(write(tmp_path, collected_at=value))
    message = str(caught.value)
    assert ": collected_at: " in message and "\x1b" not in message and "\n" not in message


@pytest.mark.parametrize("value", ["", "x" * 101, "drift\x1b[2J", "drift\n0.1", "drift\u202e1.0"])
def test_collector_must_be_a_short_printable_string(tmp_path, value):
    with pytest.raises(InventoryError, match=": collector: "):
        read_json_inventory(write(tmp_path, collector=value))


def test_exclusions_are_recorded_sorted_and_read_back(tmp_path):
    inventory = read_json_inventory(write(tmp_path, excluded=["logs/", "*.tmp", "logs/"]))
    assert inventory.excluded == ("*.tmp", "logs/")


@pytest.mark.parametrize(("patterns", "where"), [(["ok", ""], "excluded[1]"), (["a\x1b"], "excluded[0]"), (["x" * 1001], "excluded[0]"), ([str(n) for n in range(1001)], "excluded")])
def test_bad_exclusions_are_refused(tmp_path, patterns, where):
    path = write(tmp_path)
    text = path.read_text(encoding="utf-8")
    path.write_text(redigest(text.replace(' "excluded": [],', f' "excluded": {json.dumps(patterns)},')), encoding="utf-8")
    with pytest.raises(InventoryError, match=f": {where.replace('[', '.').replace(']', '.')}: "):
        read_json_inventory(path)


@pytest.mark.parametrize("section", ["config", "unreadable", "links"])
def test_a_lone_surrogate_in_a_tenant_string_is_refused_not_a_crash(tmp_path, section):
    items = {
        "config": ' "config": [\n  {"file": "conf/a.properties", "key": "k", "value": "\\ud800"}\n ],',
        "unreadable": ' "unreadable": [\n  {"path": "a", "reason": "\\udfff denied"}\n ],',
        "links": ' "links": [\n  {"outside": false, "path": "l", "target": "x\\ud800"}\n ],',
    }
    path = write(tmp_path)
    text = path.read_text(encoding="utf-8").replace(f' "{section}": [],', items[section])
    path.write_text(redigest(text), encoding="utf-8")
    with pytest.raises(InventoryError, match=f": {section}\\[0\\]\\.[a-z]+: holds a lone surrogate"):
        read_json_inventory(path)
