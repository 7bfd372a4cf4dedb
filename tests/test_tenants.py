"""The tenant registry (SPEC 4): tenants.yaml or tenants.csv, JIS X 0402 codes and other ids."""

from __future__ import annotations

from pathlib import Path

import pytest

from drift.errors import RegistryError
from drift.tenants import Tenant, load_registry
from tests.builders import refusal, write_yaml

HEADER = "id,name,prefecture,edition,line,modules\n"
MUNAKATA = Tenant("402206", "宗像市", "福岡県", "standard", "8.x", frozenset({"konbini", "madoguchi"}))
KAWASAKI = Tenant("141305", "川崎市", "神奈川県", "seirei", "7.x", frozenset())


def row(tid: object, **fields: object) -> dict:
    return {"id": tid, "name": f"tenant {tid}", **fields}


def write_csv(folder: Path, text: str, *, encoding: str = "utf-8") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "tenants.csv"
    path.write_bytes(text.encode(encoding))
    return path


def refused(folder: Path, file: str, field: str) -> str:
    return refusal(RegistryError, lambda: load_registry(folder), folder / file, field)


def test_yaml_registry_is_loaded_sorted_by_id(tmp_path):
    write_yaml(tmp_path / "tenants.yaml", [
        {"id": "402206", "name": "宗像市", "prefecture": "福岡県", "edition": "standard", "line": "8.x", "modules": ["konbini", "madoguchi"]},
        {"id": "141305", "name": "川崎市", "prefecture": "神奈川県", "edition": "seirei", "line": "7.x"},
    ])
    assert load_registry(tmp_path) == (KAWASAKI, MUNAKATA)


@pytest.mark.parametrize("modules", ["konbini madoguchi", "konbini;madoguchi", "konbini; madoguchi", "konbini|madoguchi", ";konbini;;madoguchi;"])
def test_csv_registry_has_the_same_columns_and_splits_modules(tmp_path, modules):
    write_csv(tmp_path, HEADER + f"402206,宗像市,福岡県,standard,8.x,{modules}\n141305,川崎市,神奈川県,seirei,7.x,\n")
    assert load_registry(tmp_path) == (KAWASAKI, MUNAKATA)


def test_csv_registry_with_a_utf8_bom_is_read(tmp_path):
    write_csv(tmp_path, HEADER + "402206,宗像市,福岡県,standard,8.x,konbini madoguchi\n", encoding="utf-8-sig")
    assert load_registry(tmp_path) == (MUNAKATA,)


def test_csv_with_only_id_and_name_columns_is_enough(tmp_path):
    write_csv(tmp_path, "id,name\nacme-test,Acme test bed\n")
    assert load_registry(tmp_path) == (Tenant("acme-test", "Acme test bed"),)


def test_an_empty_yaml_registry_has_no_tenants(tmp_path):
    (tmp_path / "tenants.yaml").write_text("", encoding="utf-8")
    assert load_registry(tmp_path) == ()


@pytest.mark.parametrize("code", ["402206", "131211", "141305", "362018", "151009", "111007", "431001", "141003", "011002", "131130"])
def test_real_local_government_codes_pass_their_check_digit(tmp_path, code):
    write_yaml(tmp_path / "tenants.yaml", [row(code)])
    assert [t.id for t in load_registry(tmp_path)] == [code]


def test_a_wrong_check_digit_is_refused_in_yaml_naming_the_entry(tmp_path):
    write_yaml(tmp_path / "tenants.yaml", [row("402206"), row("402207")])
    assert "402207 has a wrong check digit (expected 402206)" in refused(tmp_path, "tenants.yaml", "[1].id")


def test_a_wrong_check_digit_is_refused_in_csv_naming_the_line(tmp_path):
    write_csv(tmp_path, "id,name\n402206,宗像市\n141300,川崎市\n")
    assert "wrong check digit" in refused(tmp_path, "tenants.csv", "line 3.id")


def test_an_unquoted_six_digit_yaml_id_is_read_as_written(tmp_path):
    (tmp_path / "tenants.yaml").write_text("- {id: 402206, name: 宗像市}\n", encoding="utf-8")
    assert [t.id for t in load_registry(tmp_path)] == ["402206"]


@pytest.mark.parametrize("written", ["011002", "123"])
def test_an_unquoted_yaml_id_that_yaml_mangles_is_refused(tmp_path, written):
    # YAML 1.1 reads 011002 as octal 4610: taking it as "004610" would name another tenant
    (tmp_path / "tenants.yaml").write_text(f"- {{id: {written}, name: x}}\n", encoding="utf-8")
    assert "quotes" in refused(tmp_path, "tenants.yaml", "[0].id")


@pytest.mark.parametrize("tid", ["acme-test", "kofu.staging_2", "12345", "1234567", "A"])
def test_ids_that_are_not_local_government_codes_are_accepted(tmp_path, tid):
    write_yaml(tmp_path / "tenants.yaml", [row(tid)])
    assert [t.id for t in load_registry(tmp_path)] == [tid]


@pytest.mark.parametrize("tid", ["a/b", "../402206", "..", ".hidden", "a b", "", "x" * 65, "東京", "４０２２０６"])
def test_ids_that_could_not_name_a_file_are_refused(tmp_path, tid):
    write_yaml(tmp_path / "tenants.yaml", [row("402206"), row(tid)])
    refused(tmp_path, "tenants.yaml", "[1].id")


def test_a_duplicate_tenant_is_refused(tmp_path):
    write_yaml(tmp_path / "tenants.yaml", [row("402206"), row("141305"), row("402206")])
    assert "listed twice" in refused(tmp_path, "tenants.yaml", "[2].id")


def test_a_duplicate_tenant_in_csv_names_the_line(tmp_path):
    write_csv(tmp_path, "id,name\nacme,a\nacme,b\n")
    refused(tmp_path, "tenants.csv", "line 3.id")


def test_an_unknown_key_is_refused(tmp_path):
    write_yaml(tmp_path / "tenants.yaml", [row("402206", region="九州")])
    assert "unknown key" in refused(tmp_path, "tenants.yaml", "[0].region")


def test_an_unknown_csv_column_is_refused(tmp_path):
    write_csv(tmp_path, "id,name,region\n402206,宗像市,九州\n")
    refused(tmp_path, "tenants.csv", "line 2.region")


def test_a_csv_row_with_more_cells_than_columns_is_refused(tmp_path):
    write_csv(tmp_path, "id,name\n402206,宗像市,extra\n")
    refused(tmp_path, "tenants.csv", "line 2")


def test_a_tenant_without_a_name_is_refused(tmp_path):
    write_yaml(tmp_path / "tenants.yaml", [{"id": "402206"}])
    assert "required" in refused(tmp_path, "tenants.yaml", "[0].name")


def test_modules_that_are_not_a_list_are_refused(tmp_path):
    write_yaml(tmp_path / "tenants.yaml", [row("402206", modules="konbini")])
    refused(tmp_path, "tenants.yaml", "[0].modules")


def test_both_tenants_yaml_and_tenants_csv_is_an_error(tmp_path):
    write_yaml(tmp_path / "tenants.yaml", [row("402206")])
    write_csv(tmp_path, "id,name\n402206,宗像市\n")
    with pytest.raises(RegistryError, match="both tenants.yaml and tenants.csv") as caught:
        load_registry(tmp_path)
    assert caught.value.source == str(tmp_path)


def test_no_registry_is_an_error(tmp_path):
    with pytest.raises(RegistryError, match="no tenants.yaml or tenants.csv"):
        load_registry(tmp_path)


def test_broken_registry_yaml_names_the_line(tmp_path):
    (tmp_path / "tenants.yaml").write_text('- {id: "402206", name: 宗像市}\n- {id: "141305", name: [\n', encoding="utf-8")
    refused(tmp_path, "tenants.yaml", "line 3")


# Module names, and the strings every output shows (SPEC 5: no control character from the registry).


@pytest.mark.parametrize(
    "module", ["konbini,madoguchi", "konbini madoguchi", "konbini\tmadoguchi", "konbini;x", "a|b", "x\u3000y", "k\x1b[32m", "k\u202e", "m" * 65]
)
def test_a_yaml_module_name_with_a_separator_whitespace_or_control_is_refused(tmp_path, module):
    write_yaml(tmp_path / "tenants.yaml", [row("402206", modules=["konbini", module])])
    assert "module name '" in refused(tmp_path, "tenants.yaml", "[0].modules[1]")


@pytest.mark.parametrize("cell", ['"konbini,madoguchi"', "konbini\tmadoguchi", "konbini;\u3000", "k\x1b[32m"])
def test_a_csv_module_name_with_a_separator_whitespace_or_control_is_refused(tmp_path, cell):
    write_csv(tmp_path, HEADER + f"402206,宗像市,福岡県,standard,8.x,{cell}\n")
    message = refused(tmp_path, "tenants.csv", "line 2.modules")
    assert "separates modules with ; or | or spaces" in message
    assert "\x1b" not in message and "\t" not in message


@pytest.mark.parametrize("module", ["konbini", "madoguchi-2", "窓口", "a.b_c", "m" * 64, "=konbini"])
def test_module_names_that_follow_the_rule_are_accepted(tmp_path, module):
    write_yaml(tmp_path / "tenants.yaml", [row("402206", modules=[module])])
    assert load_registry(tmp_path)[0].modules == frozenset({module})


@pytest.mark.parametrize("field", ["name", "prefecture", "edition", "line"])
@pytest.mark.parametrize("bad", ["\x1b[32mPASS\x1b[0m", "a\nb", "a\rb", "\u202e市", "a\x9bb", "a\u2028b", "a\u200bb"])
def test_a_registry_string_with_a_control_character_is_refused_escaped(tmp_path, field, bad):
    write_yaml(tmp_path / "tenants.yaml", [row("402206", **{field: bad})])
    message = refused(tmp_path, "tenants.yaml", f"[0].{field}")
    assert "control or text-reordering character U+" in message
    assert not any(ch in message for ch in bad if not ch.isprintable())


def test_a_control_character_in_a_csv_name_is_refused_without_splitting_the_line(tmp_path):
    # U+0085 and U+2028 end a line for str.splitlines, not for CSV: the cell is refused as a whole.
    write_csv(tmp_path, "id,name\n402206,宗像\x85市\n141305,川崎\u2028市\n")
    assert "U+0085" in refused(tmp_path, "tenants.csv", "line 2.name")


def test_names_with_punctuation_and_formulas_are_kept_as_written(tmp_path):
    # Formulas are plain text in a registry: the CSV exports neutralise them (drift.text.csv_safe).
    write_yaml(tmp_path / "tenants.yaml", [row("402206", name='=HYPERLINK("x") 宗像市, "福岡県"', prefecture="+81")])
    (tenant,) = load_registry(tmp_path)
    assert (tenant.name, tenant.prefecture) == ('=HYPERLINK("x") 宗像市, "福岡県"', "+81")
