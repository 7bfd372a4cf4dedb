"""Reading only the asked-for keys of config files (SPEC 4): values as a Java program would see them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from drift.collect.configfile import ConfigReadError, read_keys


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


PROPERTIES = r"""# print settings
! another comment = not.a.key
print.lock.release_on_timeout=false
print.lock.timeout.seconds : 30
print.queue.name   kofu-print
   indented.key=indented value
spaced.key   =   spaced value
empty.key=
colon.only:
key\=with\=equals=eq
key\:with\:colons:co
key\ with\ spaces = sp
long.list=a,\
          b,\
          c
even.backslashes=C:\\temp\\
next.after.even=still here
value.with.equals=a=b:c
"""


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("print.lock.release_on_timeout", "false"),
        ("print.lock.timeout.seconds", "30"),
        ("print.queue.name", "kofu-print"),
        ("indented.key", "indented value"),
        ("spaced.key", "spaced value"),
        ("empty.key", ""),
        ("colon.only", ""),
        ("key=with=equals", "eq"),
        ("key:with:colons", "co"),
        ("key with spaces", "sp"),
        ("long.list", "a,b,c"),
        ("even.backslashes", "C:\\temp\\"),
        ("next.after.even", "still here"),
        ("value.with.equals", "a=b:c"),
        ("not.a.key", None),
        ("another", None),
        ("print.lock", None),
    ],
)
def test_properties_separators_comments_continuations_and_escaped_keys(tmp_path: Path, key: str, expected: str | None) -> None:
    path = write(tmp_path, "print.properties", PROPERTIES)
    assert read_keys(path, [key]) == {key: expected}


def test_properties_crlf_line_ends(tmp_path: Path) -> None:
    path = write(tmp_path, "print.properties", "a=1\r\nlong=x\\\r\n   y\r\nb = 2\r\n")
    assert read_keys(path, ["a", "long", "b"]) == {"a": "1", "long": "xy", "b": "2"}


def test_properties_unicode_escapes_as_native2ascii_writes_them(tmp_path: Path) -> None:
    # Japanese deployments often keep .properties files ASCII-only with \uXXXX escapes.
    path = write(tmp_path, "print.properties", "print.footer=\\u5b97\\u50cf\\u5e02\ntab=a\\tb\n\\u30ad\\u30fc=key\n")
    assert read_keys(path, ["print.footer", "tab", "\u30ad\u30fc"]) == {
        "print.footer": "\u5b97\u50cf\u5e02",
        "tab": "a\tb",
        "\u30ad\u30fc": "key",
    }


def test_properties_are_read_as_every_java_reader_reads_them_or_not_at_all(tmp_path: Path) -> None:
    """`Properties.load(InputStream)` reads ISO-8859-1, a Reader or a resource bundle UTF-8: a value asked
    for that reads one way only (ASCII, `\\u` escapes, or bytes that are not UTF-8) is read; raw UTF-8
    outside ASCII reads two ways and is not."""
    escaped = write(tmp_path, "escaped.properties", "city=\\u5b97\\u50cf\\u5e02\nname=x\n")
    latin1 = write(tmp_path, "latin1.properties", "name=Jos\u00e9\n".encode("latin-1"))
    utf8 = write(tmp_path, "utf8.properties", "city=\u5b97\u50cf\u5e02\nmode=exclusive\n")
    assert read_keys(escaped, ["city"]) == {"city": "\u5b97\u50cf\u5e02"}
    assert read_keys(latin1, ["name"]) == {"name": "Jos\u00e9"}
    assert read_keys(utf8, ["mode"]) == {"mode": "exclusive"}  # the key asked for reads one way
    with pytest.raises(ConfigReadError, match="outside ASCII"):
        read_keys(utf8, ["city"])


def test_properties_line_breaks_are_only_cr_and_lf(tmp_path: Path) -> None:
    # NEL (and U+2028) are ordinary characters to Java; they must not split a value.
    path = write(tmp_path, "print.properties", "motd=first\u0085second\nnext=1\n".encode("latin-1"))
    assert read_keys(path, ["motd", "next"]) == {"motd": "first\u0085second", "next": "1"}
    path = write(tmp_path, "escaped.properties", "motd=first\\u2028second\nnext=1\n")
    assert read_keys(path, ["motd", "next"]) == {"motd": "first\u2028second", "next": "1"}


def test_a_malformed_unicode_escape_is_an_error_without_the_value(tmp_path: Path) -> None:
    path = write(tmp_path, "print.properties", "db.password=hunter\\u12zz\n")
    with pytest.raises(ConfigReadError) as caught:
        read_keys(path, ["db.password"])
    assert "hunter" not in str(caught.value)


INI = """\
[DEFAULT]
region = kyushu

[print]
lock.release_on_timeout = false
queue: kofu-print

[db]
password = s3cr3t
"""


def test_ini_keys_are_section_dot_key(tmp_path: Path) -> None:
    path = write(tmp_path, "kofu.ini", INI)
    assert read_keys(path, ["print.lock.release_on_timeout", "print.queue", "print.missing", "nosection", "region"]) == {
        "print.lock.release_on_timeout": "false",
        "print.queue": "kofu-print",
        "print.missing": None,
        "nosection": None,
        "region": "kyushu",
    }


def test_ini_that_does_not_parse_is_an_error_without_values(tmp_path: Path) -> None:
    path = write(tmp_path, "kofu.ini", "password = s3cr3t\n[print\n")
    with pytest.raises(ConfigReadError) as caught:
        read_keys(path, ["print.x"])
    assert "s3cr3t" not in str(caught.value)


YAML = """\
print:
  lock:
    release_on_timeout: false
    timeout: 30
  queue: kofu-print
  enabled: true
  tags: [a, b]
print.flat.key: flat
nothing: null
"""


@pytest.mark.parametrize("suffix", [".yaml", ".yml"])
def test_yaml_dotted_paths_and_booleans(tmp_path: Path, suffix: str) -> None:
    path = write(tmp_path, f"application{suffix}", YAML)
    assert read_keys(
        path,
        ["print.lock.release_on_timeout", "print.lock.timeout", "print.queue", "print.enabled", "print.flat.key"],
    ) == {
        "print.lock.release_on_timeout": "false",
        "print.lock.timeout": "30",
        "print.queue": "kofu-print",
        "print.enabled": "true",
        "print.flat.key": "flat",
    }


@pytest.mark.parametrize("key", ["print.lock.missing", "print.queue.deeper", "print.lock", "print.tags", "nothing", "absent"])
def test_yaml_a_key_not_set_to_a_scalar_is_none(tmp_path: Path, key: str) -> None:
    path = write(tmp_path, "application.yaml", YAML)
    assert read_keys(path, [key]) == {key: None}


def test_json_dotted_paths_and_booleans(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "print.json",
        '{"print": {"lock": {"release_on_timeout": true, "timeout": 30}, "ratio": 0.5}, "db": {"password": "x"}}',
    )
    assert read_keys(path, ["print.lock.release_on_timeout", "print.lock.timeout", "print.ratio", "print.missing"]) == {
        "print.lock.release_on_timeout": "true",
        "print.lock.timeout": "30",
        "print.ratio": "0.5",
        "print.missing": None,
    }


def test_only_the_asked_for_keys_are_returned(tmp_path: Path) -> None:
    props = write(tmp_path, "a.properties", "wanted=1\ndb.password=s3cr3t\n")
    yml = write(tmp_path, "a.yaml", "wanted: 1\ndb: {password: s3cr3t}\n")
    assert read_keys(props, ["wanted"]) == {"wanted": "1"}
    assert read_keys(yml, ["wanted"]) == {"wanted": "1"}


def test_unparseable_yaml_is_an_error_whose_message_holds_no_value(tmp_path: Path) -> None:
    path = write(tmp_path, "application.yaml", "db:\n  password: 'hunter2-s3cr3t\n  user: [admin\n")
    with pytest.raises(ConfigReadError) as caught:
        read_keys(path, ["db.user"])
    message = str(caught.value)
    assert message
    assert "hunter2" not in message and "s3cr3t" not in message and "admin" not in message


def test_unparseable_json_is_an_error_whose_message_holds_no_value(tmp_path: Path) -> None:
    path = write(tmp_path, "print.json", '{"db": {"password": "hunter2-s3cr3t" "user": 1}}')
    with pytest.raises(ConfigReadError) as caught:
        read_keys(path, ["db.user"])
    assert "hunter2" not in str(caught.value)


def test_a_hostile_deeply_nested_json_is_a_config_read_error(tmp_path: Path) -> None:
    path = write(tmp_path, "print.json", "[" * 200_000 + "]" * 200_000)
    with pytest.raises(ConfigReadError):
        read_keys(path, ["a"])


def test_ini_option_names_with_dots(tmp_path: Path) -> None:
    path = write(tmp_path, "php.ini", "[Session]\nsession.save_path = /var/lib/php\n[a.b]\nc = 1\n")
    assert read_keys(path, ["Session.session.save_path", "a.b.c", "Session.save_path"]) == {
        "Session.session.save_path": "/var/lib/php",
        "a.b.c": "1",
        "Session.save_path": None,
    }


def test_a_hostile_deeply_nested_yaml_is_a_config_read_error(tmp_path: Path) -> None:
    # The C YAML loader crashes the process on this; the collector must survive a tenant's config file.
    # Run in a child process so that a regression fails this test instead of killing the test run.
    path = write(tmp_path, "application.yaml", "[" * 100_000 + "]" * 100_000)
    code = (
        "import sys; from pathlib import Path; from drift.collect.configfile import ConfigReadError, read_keys\n"
        "try:\n    read_keys(Path(sys.argv[1]), ['a'])\nexcept ConfigReadError:\n    print('ConfigReadError')\n"
    )
    child = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=False)
    assert (child.returncode, child.stdout.strip()) == (0, "ConfigReadError"), child.stderr[-500:]


def test_ini_keys_before_any_section_are_read(tmp_path):
    path = tmp_path / "kiosk.ini"
    path.write_text("lock.mode = exclusive\n[print]\nqueue = 4\n", encoding="utf-8")
    assert read_keys(path, ["lock.mode", "print.queue", "missing"]) == {"lock.mode": "exclusive", "print.queue": "4", "missing": None}


def test_read_keys_never_follows_a_link(tmp_path: Path) -> None:
    target = write(tmp_path, "real.properties", "a=1\n")
    (tmp_path / "link.properties").symlink_to(target)
    with pytest.raises(OSError):
        read_keys(tmp_path / "link.properties", ["a"])


def test_read_keys_refuses_a_fifo_without_blocking(tmp_path: Path) -> None:
    import os

    os.mkfifo(tmp_path / "print.properties")  # no writer: a blocking open would never return
    with pytest.raises(ConfigReadError, match="not a regular file"):
        read_keys(tmp_path / "print.properties", ["a"])


def test_read_keys_refuses_a_file_over_the_size_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import drift.collect.configfile

    monkeypatch.setattr(drift.collect.configfile, "MAX_SIZE", 8)
    with pytest.raises(ConfigReadError, match="bigger than"):
        read_keys(write(tmp_path, "a.properties", "a=123456789\n"), ["a"])


@pytest.mark.parametrize(
    ("name", "content"),
    [("a.properties", "a=1\n"), ("a.yaml", "a: 1\n"), ("a.json", '{"a": 1}'), ("a.ini", "a = 1\n")],
)
def test_parse_keys_reads_the_given_bytes_as_read_keys_reads_the_file(tmp_path: Path, name: str, content: str) -> None:
    from drift.collect.configfile import parse_keys

    assert parse_keys(content.encode(), name, ["a", "b"]) == read_keys(write(tmp_path, name, content), ["a", "b"]) == {"a": "1", "b": None}


@pytest.mark.parametrize(("text", "expected"), [
    # Java 9+: a line is a comment wherever the logical line is still empty, right after a lone `\` too,
    # so the later assignment is the one Java reads (an older reading swallowed it into a key `#KEY`).
    ("KEY=false\n\\\n#\\\nKEY=true\n", "true"),
    ("KEY=false\n\\\n\nKEY=true\n", "true"),
    ("KEY=false\n  \\\n!x\nKEY=true\n", "true"),
    ("KEY=a\\\n#b\n", "a#b"),  # once the logical line holds something, `#` is part of it
])
def test_properties_a_comment_after_an_empty_continuation_is_a_comment(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "app.properties"
    path.write_text(text, encoding="utf-8")
    assert read_keys(path, ["KEY"]) == {"KEY": expected}
    assert read_keys(path, [""]) == {"": None}  # and no key made of the empty continuation


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_a_key_set_two_ways_to_different_values_is_not_read(tmp_path: Path, suffix: str) -> None:
    """`print.lock.mode` as a top-level key and as nested maps: SnakeYAML reads the nested one, Spring the
    later one. A file that says both is not read (the check is `unreadable`), never taken the way that
    reads fixed."""
    path = tmp_path / f"app{suffix}"
    if suffix == ".yaml":
        path.write_text("print.lock.mode: exclusive\nprint:\n  lock:\n    mode: shared\n", encoding="utf-8")
    else:
        path.write_text('{"print.lock.mode": "exclusive", "print": {"lock": {"mode": "shared"}}}', encoding="utf-8")
    with pytest.raises(ConfigReadError, match="set two ways") as caught:
        read_keys(path, ["print.lock.mode"])
    assert "exclusive" not in str(caught.value) and "shared" not in str(caught.value)
    path.write_text('{"print.lock.mode": "shared", "print": {"lock.mode": "shared"}}', encoding="utf-8")
    if suffix == ".json":
        assert read_keys(path, ["print.lock.mode"]) == {"print.lock.mode": "shared"}  # the same value both ways


@pytest.mark.parametrize(("name", "content"), [
    ("app.conf", 'doc = """\nprint.lock.mode = exclusive\n"""\nprint.lock.mode = shared\n'),  # HOCON: shared
    ("app.xml", "<!--\nprint.lock.mode=exclusive\n-->\n<entry key='print.lock.mode'>shared</entry>\n"),
])
def test_a_config_file_of_another_kind_is_not_read_as_properties(tmp_path: Path, name: str, content: str) -> None:
    with pytest.raises(ConfigReadError, match="not a config format drift reads"):
        read_keys(write(tmp_path, name, content), ["print.lock.mode"])


def test_a_yaml_merge_key_is_not_read(tmp_path: Path) -> None:
    """PyYAML, SnakeYAML and Jackson resolve `<<` differently (nested, repeated, or not at all)."""
    text = "base: &b\n  mode: exclusive\nprint:\n  lock:\n    <<: *b\n    mode: shared\n"
    with pytest.raises(ConfigReadError, match="merge key"):
        read_keys(write(tmp_path, "app.yaml", text), ["print.lock.mode"])
