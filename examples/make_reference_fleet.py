#!/usr/bin/env python3
"""Write drift's reference fleet: the catalog of the fictional product `kofu` and 123 tenant inventories.

The scenario
------------
`kofu` is a (fictional) certificate-issuance product for Japanese municipalities: residence certificates at
the counter (module `madoguchi`), at convenience-store kiosks (`konbini`), family-register extracts (`koseki`),
seal-registration certificates (`inkan`) and linkage with other municipal systems (`renkei`). It has two
maintenance lines: `7.x` (7.4.0 ... 7.4.6, 2018-2023) and `8.x` (8.0.0 ... 8.2.2, 2019-2023), forked from
7.4.2. Every release ships Java sources, a few loose classes, print layouts, `conf/*.properties` and jars.
A municipality deploys the core and the modules it chose: its deploy root holds no file of another module
(`MODULE_RULES` says which files are a module's; the release manifests name it as each file's `module`).

In June 2023, after certificates of the wrong resident came out of convenience-store kiosks, all 123
municipalities running kofu were rechecked. This script writes the catalog (`manifests/`) and what that
recheck collected (`inventory/`): 32 published fixes, 16 releases, and one inventory per municipality.
Scanning it (SPEC 5) must show exactly this:

* 44 tenants have at least one fix `missing` or `partial`; 41 of them lack KOFU-2019-0117 (the 2019 fix of
  the kiosk mix-up, konbini only), 402206 宗像市 among them. They lack it because
  - 11 never upgraded past a release older than the fix (7.4.1, 7.4.2 or 8.0.0);
  - 27 upgraded the product but their `konbini` module still is the one a local integrator installed
    before the fix (a mixed-release deployment: core of 8.2.x, konbini of 8.0.0);
  - 3 (141003 横浜市, 131211 足立区, 271403 堺市) have the fixed source but a stale `lib/kofu-konbini.jar`:
    `partial`.
  The other three: 362018 徳島市 runs 8.2.2 but set `print.lock.mode=shared` in `conf/print.properties`, so
  KOFU-2023-0511 is `missing` through its config check alone, although the files that shipped with it
  (`PrintLockMode.java`, `KioskDbBridge.java`) are those of 8.2.2; 151009 新潟市 is still on 8.2.1, 202011
  長野市 on 7.4.5 (both miss the 2023 fixes).
* The other 79 run the newest release of their line (8.2.2 or 7.4.6, which ship the 2023 fixes), with
  these local deviations that are not `missing`/`partial`:
  - 141305 川崎市 runs a custom linkage program no release knows (`app/renkei/custom/...`): uncatalogued;
  - 431001 熊本市, 221309 浜松市 and 132012 八王子市 rebuilt a jar locally (other timestamps, same classes):
    other sha256, same content hash, so the fixes carried by it count as applied;
  - 281000 神戸市 patched `app/madoguchi/ReceiptNumber.java` locally: KOFU-2018-0153 is `unverifiable`;
  - 131016 千代田区's collector could not read `conf/db.properties` (permission denied).
* KOFU-2023-0422 applies to `renkei` only, KOFU-2023-0516 to edition `seirei` (designated cities) only.

Everything is generated: file contents are deterministic text (a small fake Java class naming the version
that last changed it and the fixes it carries), jars are real zip files with fixed timestamps. There is no
randomness (choices are made by sorting on SHA-256 of a salted name), no clock and no dependence on dict or
set order, so two runs write byte-identical files.

The catalog comes out of `drift catalog build`. The script writes the product's history as a git repository
in a temporary folder (`kofu/` is the deploy root, jars committed beside the sources; 8.x forks from 7.x at
v7.4.2), writes the fix register (FIXES.yaml: each fix with the commit of its first landing and the config
checks it needs), and runs `drift catalog build` on both. Each release is made of one commit per fix landing,
changing the fix's evidence files only, then one release commit with the rest, tagged `v<version>`; backports
carry `(cherry picked from commit <sha>)`. The settings a fix needs and the code that honours them come with
the release commit, since the build takes every deployed file a fix's commit changes as its evidence.
KOFU-2023-0511, whose evidence is its setting alone, commits only a note outside the deploy root
(`docs/print-lock.md`), so its variants have no files and only the config check. Every git object is pinned
(names, e-mails, dates; no user or system configuration), so the commit ids, and the catalog, are the same on
every run.

Usage: `python examples/make_reference_fleet.py [--out DIR] [--verbose]` writes `DIR/manifests/` and
`DIR/inventory/` (default: the repository root); `--verbose` also prints what the build said. Files of these
kinds that the run does not write are removed. It needs `git` on the PATH.
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run from a checkout without installing drift
    sys.path.insert(0, str(REPO))

from drift.collect.archive import content_sha256_bytes
from drift.inventory.jsonwrite import dumps_inventory
from drift.inventory.model import ConfigValue, FileRecord, Unreadable

SALT = "kofu-reference-fleet/1"
"""Changing this reshuffles every generated choice (which files a release changes, method names, ...)."""

PRODUCT = "kofu"
LINES = ("7.x", "8.x")
FORK = ("8.x", "7.x", "7.4.2", "8.0.0")
"""(child line, parent line, last parent release before the fork, first release of the child)."""
DEPLOY_ROOT = "kofu/"
"""The folder of the repository that is the deploy root (`--include 'kofu/*' --map kofu/=`)."""

RELEASES: tuple[tuple[str, str, str], ...] = (
    # (line, version, date), in the order they were released
    ("7.x", "7.4.0", "2018-03-05"),
    ("7.x", "7.4.1", "2018-08-20"),
    ("7.x", "7.4.2", "2019-01-21"),
    ("8.x", "8.0.0", "2019-04-01"),
    ("8.x", "8.0.1", "2019-08-30"),
    ("7.x", "7.4.3", "2019-09-09"),
    ("8.x", "8.1.0", "2020-04-06"),
    ("7.x", "7.4.4", "2020-07-13"),
    ("8.x", "8.1.1", "2020-10-12"),
    ("8.x", "8.1.2", "2021-05-17"),
    ("7.x", "7.4.5", "2021-11-15"),
    ("8.x", "8.1.3", "2021-12-06"),
    ("8.x", "8.2.0", "2022-07-04"),
    ("8.x", "8.2.1", "2023-02-20"),
    ("8.x", "8.2.2", "2023-05-29"),
    ("7.x", "7.4.6", "2023-06-05"),
)
NEWEST = {"7.x": "7.4.6", "8.x": "8.2.2"}
MODULES = ("konbini", "renkei", "koseki", "inkan", "madoguchi")

# --------------------------------------------------------------------------------------------------------
# The files of the product
# --------------------------------------------------------------------------------------------------------

# Java packages: (folder, named classes that fixes touch, filler nouns, how many classes in all)
PACKAGES: tuple[tuple[str, tuple[str, ...], tuple[str, ...], int], ...] = (
    ("app/core", ("Version", "FeeTable", "ResidentLookup", "AuditLog", "SessionTimeout", "CharsetConverter", "AddressFormatter"),
     ("Resident", "Address", "Era", "Fee", "Audit", "Session", "Charset", "Tenant", "Household", "Office"), 34),
    ("app/common", (), ("String", "Date", "Kana", "Json", "Xml", "Http", "File", "Number", "Code", "Message"), 28),
    ("app/print", ("IssueJob", "PrintLockManager", "PrintLockMode", "PrintImageStore", "Watermark", "PageComposer", "IssueLog"),
     ("Print", "Page", "Image", "Font", "Layout", "Spool", "Form", "Stamp"), 22),
    ("app/konbini", ("IssueSession", "KioskDbBridge", "StoreTerminalAuth", "FeeSettlement", "RequestQueue"),
     ("Store", "Kiosk", "Chain", "Barcode", "Settlement", "Slip", "Terminal", "Payment"), 30),
    ("app/renkei", ("LinkReceiver", "LinkScheduler", "RecordSync"),
     ("Link", "Feed", "Sync", "Queue", "Gateway", "Peer", "Transfer", "Notice"), 28),
    ("app/koseki", ("ExtractFormatter", "RegisterSearch", "KosekiGaiji"),
     ("Register", "Family", "Member", "Extract", "Annotation", "Gaiji", "Domicile", "Entry"), 30),
    ("app/inkan", ("InkanCertificate", "InkanRegistration", "WardTransfer", "InkanCancel"),
     ("Seal", "Registration", "Card", "Impression", "Holder", "Proxy", "Ledger", "Notice"), 26),
    ("app/madoguchi", ("ReceiptNumber", "CounterQueue", "FeeReceipt", "StaffAuth"),
     ("Counter", "Window", "Ticket", "Desk", "Staff", "Receipt", "Visitor", "Form"), 28),
)
ROLES = ("Service", "Handler", "Dao", "Validator", "Builder", "Mapper", "Dto", "Controller", "Filter", "Util",
         "Factory", "Repository", "Converter", "Listener", "Job")

ONLY_8X = tuple(
    [f"app/core/mynumber/{n}.java" for n in ("CardAuth", "CardPinRetry", "CertificateChain", "CardReader")]
    + [f"app/renkei/ondemand/{n}.java" for n in ("OnDemandLink", "OnDemandPrintHook", "OnDemandCache", "OnDemandClient", "OnDemandAudit")]
)
"""Added in 8.0.0 (My Number card sign-in, on-demand linkage): no 7.x release has them."""
ONLY_7X = tuple(f"app/koseki/legacy/{n}.java" for n in ("LegacyGateway", "LegacyCodec", "LegacyMapper"))
"""The old family-register gateway, dropped in 8.0.0."""
ADDED_LATER = {"8.1.0": ("app/madoguchi/QueueDisplay.java",), "8.2.0": ("app/core/mynumber/CardReaderV2.java",)}

PLUGINS = {
    "app/core": ("GaijiFontTable", "ZipCodeIndex"),
    "app/konbini": ("StorePrinterDriver", "BarcodeCodec", "ChainAdapter"),
    "app/renkei": ("FixedWidthCodec", "SoapEnvelope"),
    "app/koseki": ("KosekiCharMap", "SeikaFont", "RegisterIndex"),
    "app/inkan": ("ImpressionScanner", "SealImageCodec"),
    "app/madoguchi": ("TicketPrinterDriver", "CallDisplay", "CashDrawer"),
}
"""Precompiled vendor classes shipped as loose `.class` files."""

LAYOUTS = ("juminhyo", "juminhyo_kisai", "inkan_shomei", "koseki_tohon", "koseki_shohon", "koseki_fuhyo",
           "zeimu_shomei", "shotoku_shomei")
CONFIGS = ("app", "db", "print", "logging", "version") + MODULES
JAR_SOURCES = {"lib/kofu-core.jar": ("app/core/", "app/common/"), "lib/kofu-print.jar": ("app/print/",)} | {
    f"lib/kofu-{m}.jar": (f"app/{m}/",) for m in MODULES
}
"""Each product jar holds the compiled classes of the sources under these folders."""
THIRD_PARTY = {
    "lib/itext-2.1.7.jar": ("com/lowagie/text", ("Document", "Paragraph", "PdfWriter", "BaseFont", "Image")),
    "lib/commons-io-2.6.jar": ("org/apache/commons/io", ("FileUtils", "IOUtils", "FilenameUtils", "LineIterator")),
    "lib/postgresql-42.2.2.jar": ("org/postgresql", ("Driver", "PGConnection", "PGStatement", "PGProperty")),
    "lib/slf4j-api-1.7.25.jar": ("org/slf4j", ("Logger", "LoggerFactory", "MDC", "Marker")),
}

PRINT_CONF = "conf/print.properties"


MODULE_RULES: tuple[tuple[str, str], ...] = tuple(
    (glob, module) for module in MODULES for glob in (f"app/{module}/*", f"lib/kofu-{module}.jar", f"conf/{module}.properties")
) + (("app/print/layout/koseki_*", "koseki"), ("app/print/layout/inkan_*", "inkan"))
"""(glob, module) over deployed paths, first match wins: a module's sources, loose classes and plugins, its jar,
its config file and its print layouts (family-register extracts, seal certificates). The core (`app/core`,
`app/common`, `app/print` except those layouts, the core and print jars, the other config files, third-party jars)
belongs to no module. Passed to `drift catalog build` as `--module GLOB=NAME`, so the manifests say what
`module_of` says, and a tenant's inventory holds the files of the modules it deploys only."""


def module_of(path: str) -> str | None:
    """The optional module a deployed file belongs to, or None for the core every tenant deploys."""
    return next((module for glob, module in MODULE_RULES if fnmatch.fnmatchcase(path, glob)), None)


def ranked(items: Iterable[str], salt: str) -> list[str]:
    """`items` in a fixed pseudo-random order: sorted by SHA-256 of the salted item (no RNG, no hash seed)."""
    return sorted(items, key=lambda item: hashlib.sha256(f"{SALT}:{salt}:{item}".encode()).hexdigest())


def base_sources() -> list[str]:
    """Every Java source of 7.4.0 (named classes first, then filler names chosen by `ranked`)."""
    paths: list[str] = []
    for folder, named, nouns, total in PACKAGES:
        candidates = [noun + role for noun in nouns for role in ROLES if noun + role not in named]
        fillers = ranked(candidates, folder)[: total - len(named)]
        paths += [f"{folder}/{name}.java" for name in (*named, *fillers)]
    return paths + list(ONLY_7X)


# --------------------------------------------------------------------------------------------------------
# The fixes
# --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FixSpec:
    """One fix as the vendor published it."""

    id: str
    severity: str
    published: str
    title: str
    landings: tuple[tuple[str, str], ...]
    """(line, first release that ships it): the main landing first, then backports."""
    files: tuple[str, ...]
    """The files that carry the fix: its evidence."""
    modules: tuple[str, ...] = ()
    editions: tuple[str, ...] = ()
    config: tuple[tuple[str, str, str], ...] = ()
    """(file, key, expected value) the fix needs: the register's config checks."""
    touches: tuple[str, ...] = ()
    """Further files the release changes for the fix that are not evidence (the config file that carries its
    setting, the code that honours it). They come in the release's own commit, not the fix's: every deployed
    file a fix's commit changes is evidence of the fix to `drift catalog build`."""
    note: str = ""
    """For a fix whose evidence is its setting alone (no `files`): the file outside the deploy root that its
    commit changes instead, a note on the setting. Its variants then have no files, only the config checks."""

    def __post_init__(self) -> None:
        assert self.files or (self.config and self.note), f"{self.id}: a fix without files is judged by its config, with a note"
        assert not (self.files and self.note), f"{self.id}: only a fix without files has a note"
        assert not self.note.startswith(DEPLOY_ROOT), f"{self.id}: the note must not be deployed"


def F(fix_id: str, severity: str, published: str, title: str, landings: str, files: str, **kw: object) -> FixSpec:
    """Shorthand: `landings` like `"8.x@8.0.1 7.x@7.4.3"`, `files` space-separated."""
    pairs = tuple((item.split("@")[0], item.split("@")[1]) for item in landings.split())
    return FixSpec(fix_id, severity, published, title, pairs, tuple(files.split()), **kw)  # type: ignore[arg-type]


FIXES: tuple[FixSpec, ...] = (
    # Before the fork: 8.x inherits these from 7.4.2, hence the `8.x@8.0.0` landing.
    F("KOFU-2018-0042", "medium", "2018-08-20", "Family register extract drops the annotation of a removed member",
      "7.x@7.4.1 8.x@8.0.0", "app/koseki/ExtractFormatter.java", modules=("koseki",)),
    F("KOFU-2018-0088", "high", "2018-08-20", "Seal registration certificate shows the previous address after a same-day move",
      "7.x@7.4.1 8.x@8.0.0", "app/inkan/InkanCertificate.java", modules=("inkan",)),
    F("KOFU-2018-0153", "low", "2019-01-21", "Counter receipt numbers repeat after the midnight rollover",
      "7.x@7.4.2 8.x@8.0.0", "app/madoguchi/ReceiptNumber.java", modules=("madoguchi",)),
    F("KOFU-2018-0201", "medium", "2019-01-21", "Fee table cache is not refreshed after a fee revision",
      "7.x@7.4.2 8.x@8.0.0", "app/core/FeeTable.java"),
    # 2019
    F("KOFU-2019-0117", "critical", "2019-08-30", "A resident record updated during issuance yields another resident's certificate",
      "8.x@8.0.1 7.x@7.4.3", "app/konbini/IssueSession.java lib/kofu-konbini.jar", modules=("konbini",)),
    F("KOFU-2019-0142", "low", "2019-08-30", "Issuance log omits the terminal id of kiosk prints",
      "8.x@8.0.1 7.x@7.4.3", "app/print/IssueLog.java"),
    F("KOFU-2019-0165", "medium", "2019-09-09", "Legacy family-register gateway garbles non-JIS (gaiji) characters",
      "7.x@7.4.3", "app/koseki/legacy/LegacyCodec.java", modules=("koseki",)),
    # 2020
    F("KOFU-2020-0031", "high", "2020-04-06", "My Number card PIN retry counter is not reset after a successful sign-in",
      "8.x@8.1.0", "app/core/mynumber/CardPinRetry.java"),
    F("KOFU-2020-0057", "high", "2020-04-06", "Resident lookup returns a deleted record when the name matches exactly",
      "8.x@8.1.0 7.x@7.4.4", "app/core/ResidentLookup.java"),
    F("KOFU-2020-0064", "medium", "2020-04-06", "Linkage retries a rejected record forever",
      "8.x@8.1.0 7.x@7.4.4", "app/renkei/RecordSync.java", modules=("renkei",)),
    F("KOFU-2020-0188", "high", "2020-10-12", "A seal registration can be certified while it is suspended",
      "8.x@8.1.1 7.x@7.4.5", "app/inkan/InkanRegistration.java", modules=("inkan",)),
    F("KOFU-2020-0203", "medium", "2020-10-12", "Watermark missing on reprinted certificates",
      "8.x@8.1.1 7.x@7.4.5", "app/print/Watermark.java lib/kofu-print.jar"),
    F("KOFU-2020-0219", "high", "2020-10-12", "Convenience-store terminal accepts an expired session token",
      "8.x@8.1.1 7.x@7.4.5", "app/konbini/StoreTerminalAuth.java", modules=("konbini",)),
    # 2021
    F("KOFU-2021-0044", "low", "2021-05-17", "Family register search times out for registers of more than 200 members",
      "8.x@8.1.2 7.x@7.4.5", "app/koseki/RegisterSearch.java", modules=("koseki",)),
    F("KOFU-2021-0090", "high", "2021-05-17", "On-demand linkage cache serves a stale address after a move",
      "8.x@8.1.2", "app/renkei/ondemand/OnDemandCache.java", modules=("renkei",)),
    F("KOFU-2021-0112", "medium", "2021-05-17", "Audit log loses entries when the disk is nearly full",
      "8.x@8.1.2 7.x@7.4.5", "app/core/AuditLog.java"),
    F("KOFU-2021-0150", "medium", "2021-05-17", "Print image store is not purged after a failed issuance",
      "8.x@8.1.2 7.x@7.4.5", "app/print/PrintImageStore.java"),
    F("KOFU-2021-0233", "high", "2021-12-06", "Staff sign-in accepts a locked account after a password reset",
      "8.x@8.1.3 7.x@7.4.6", "app/madoguchi/StaffAuth.java", modules=("madoguchi",)),
    F("KOFU-2021-0241", "medium", "2021-12-06", "Convenience-store fee settlement counts a cancelled payment twice",
      "8.x@8.1.3 7.x@7.4.6", "app/konbini/FeeSettlement.java", modules=("konbini",)),
    # 2022
    F("KOFU-2022-0047", "medium", "2022-07-04", "Page composer drops the last line of long address histories",
      "8.x@8.2.0 7.x@7.4.6", "app/print/PageComposer.java"),
    F("KOFU-2022-0105", "high", "2022-07-04", "Ward transfer keeps the old ward's seal registration number",
      "8.x@8.2.0 7.x@7.4.6", "app/inkan/WardTransfer.java", modules=("inkan",)),
    F("KOFU-2022-0133", "low", "2022-07-04", "Counter queue display shows the previous visitor's name",
      "8.x@8.2.0 7.x@7.4.6", "app/madoguchi/CounterQueue.java", modules=("madoguchi",)),
    F("KOFU-2022-0178", "high", "2022-07-04", "Certificate chain is not re-validated after the JPKI root update",
      "8.x@8.2.0", "app/core/mynumber/CertificateChain.java"),
    F("KOFU-2022-0199", "low", "2022-07-04", "Fee receipt rounds wrongly for multi-copy requests",
      "8.x@8.2.0 7.x@7.4.6", "app/madoguchi/FeeReceipt.java", modules=("madoguchi",)),
    F("KOFU-2022-0261", "medium", "2023-02-20", "Linkage receiver accepts records with a future effective date",
      "8.x@8.2.1 7.x@7.4.6", "app/renkei/LinkReceiver.java", modules=("renkei",)),
    # 2023
    F("KOFU-2023-0019", "low", "2023-02-20", "Address formatter splits block numbers written in kanji numerals",
      "8.x@8.2.1 7.x@7.4.6", "app/core/AddressFormatter.java"),
    F("KOFU-2023-0058", "medium", "2023-02-20", "Session timeout is not applied to the kiosk screen",
      "8.x@8.2.1 7.x@7.4.6", "app/core/SessionTimeout.java lib/kofu-core.jar"),
    F("KOFU-2023-0301", "critical", "2023-05-29", "Print lock force-released on timeout under load",
      "8.x@8.2.2 7.x@7.4.6", "app/print/PrintLockManager.java lib/kofu-print.jar",
      config=((PRINT_CONF, "print.lock.release_on_timeout", "false"),), touches=(PRINT_CONF,)),
    F("KOFU-2023-0320", "low", "2023-05-29", "Gaiji conversion table lacks characters added to the 2023 register list",
      "8.x@8.2.2 7.x@7.4.6", "app/core/CharsetConverter.java"),
    F("KOFU-2023-0422", "high", "2023-05-29", "On-demand linkage plus two concurrent prints overwrite the print image",
      "8.x@8.2.2", "app/renkei/ondemand/OnDemandPrintHook.java app/renkei/ondemand/OnDemandLink.java", modules=("renkei",)),
    F("KOFU-2023-0511", "high", "2023-05-29", "Kiosk and convenience-store issuance sharing one database must lock exclusively",
      # The code that honours the setting ships with the fix's releases, but is inert without it: the setting is
      # the fix's evidence, so a tenant with the new files and the old setting is `missing`, not `partial`. The
      # fix's commit changes only the note that explains the setting; the code comes in the release commits.
      "8.x@8.2.2 7.x@7.4.6", "", modules=("konbini",),
      config=((PRINT_CONF, "print.lock.mode", "exclusive"),),
      touches=(PRINT_CONF, "app/print/PrintLockMode.java", "app/konbini/KioskDbBridge.java"), note="docs/print-lock.md"),
    F("KOFU-2023-0516", "high", "2023-05-29", "A cancelled seal registration is still issued after moving back between wards",
      "8.x@8.2.2 7.x@7.4.6", "app/inkan/InkanCancel.java", editions=("seirei",)),
)

# --------------------------------------------------------------------------------------------------------
# File contents
# --------------------------------------------------------------------------------------------------------

RELEASE_DATE = {version: date for _, version, date in RELEASES}
TITLES = {fix.id: fix.title for fix in FIXES}


@dataclass(frozen=True)
class Rev:
    """A version of one file: the release that last changed it and the fixes it carries."""

    version: str
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Blob:
    """A file's bytes and hashes; for a jar, also what it was built from, so it can be rebuilt."""

    data: bytes
    sha256: str
    content_sha256: str | None = None
    jar: tuple[str, str, tuple[tuple[str, bytes], ...]] | None = None
    """(title, Implementation-Version, class entries) of a jar."""


def _digest(text: str) -> bytes:
    return hashlib.sha256(f"{SALT}:{text}".encode()).digest()


def java_source(path: str, rev: Rev) -> bytes:
    """A small fake Java class naming its revision and every fix it carries."""
    folder, name = path.rsplit("/", 1)
    name = name.removesuffix(".java")
    package = "jp.kofu." + ".".join(folder.split("/")[1:])
    seed = _digest(path)
    verbs = ("find", "check", "build", "apply", "render", "load", "store", "resolve", "format", "validate")
    lines = [
        "/*",
        " * kofu - certificate issuance for municipalities",
        " * Reference-fleet content generated by examples/make_reference_fleet.py; not a real product.",
        " */",
        f"package {package};",
        "",
        "import jp.kofu.common.Result;",
        "",
        "/**",
        f" * {name}.",
        " *",
        f" * @version {rev.version}",
        " */",
        f"public final class {name} {{",
        "",
        f'    static final String REVISION = "{rev.version}";',
    ]
    if name == "Version":
        lines.append(f'    public static final String PRODUCT_VERSION = "{rev.version}";')
    for note in rev.notes:
        lines.append(f"    // {note}: {TITLES[note]}")
    for i in range(3 + seed[0] % 6):
        verb = verbs[seed[i + 1] % len(verbs)]
        lines += [
            "",
            f"    public Result {verb}{i}(final String key) {{",
            f"        if (key == null || key.isEmpty()) {{ return Result.rejected(\"{name}.{verb}{i}\"); }}",
            f"        return Result.of(key, 0x{seed[i + 8]:02x}{seed[i + 9]:02x});",
            "    }",
        ]
    lines += ["}", ""]
    return "\n".join(lines).encode()


def class_file(path: str, rev: Rev) -> bytes:
    """A loose vendor class: a class-file magic and deterministic bytes."""
    body = _digest(f"{path}@{rev.version}")
    return b"\xca\xfe\xba\xbe\x00\x00\x00\x34" + body * (12 + body[0] % 40)


def layout(path: str, rev: Rev) -> bytes:
    """A print layout."""
    name = path.rsplit("/", 1)[1].removesuffix(".xml")
    seed = _digest(path)
    fields = "".join(f'  <field id="f{i}" x="{20 + seed[i] % 160}" y="{30 + 9 * i}" font="IPAmjMincho"/>\n' for i in range(6 + seed[0] % 10))
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<layout name="{name}" revision="{rev.version}">\n{fields}</layout>\n').encode()


def properties(path: str, rev: Rev) -> bytes:
    """A config file. `conf/print.properties` carries the settings KOFU-2023-0301 and -0511 need."""
    name = path.rsplit("/", 1)[1].removesuffix(".properties")
    lines = [f"# kofu {name} settings", f"# revision {rev.version}"]
    if name == "version":
        lines += [f"kofu.version={rev.version}", f"kofu.released={RELEASE_DATE[rev.version]}"]
    elif name == "print":
        lines += [
            "print.queue.size=8",
            "print.image.dir=/var/kofu/print",
            "print.lock.timeout.seconds=30",
            f"print.lock.release_on_timeout={'false' if 'KOFU-2023-0301' in rev.notes else 'true'}",
        ]
        if "KOFU-2023-0511" in rev.notes:
            lines.append("print.lock.mode=exclusive")
    elif name == "db":
        lines += ["db.url=jdbc:postgresql://db.internal:5432/kofu", "db.pool.max=20", "db.user=kofu_app"]
    else:
        seed = _digest(path)
        lines += [f"{name}.option{i}={seed[i] % 100}" for i in range(3 + seed[0] % 4)]
    return ("\n".join(lines) + "\n").encode()


def manifest(title: str, version: str, build_time: str, built_by: str | None = None) -> bytes:
    """A jar manifest (CRLF line ends, as `jar` writes them), with the volatile build attributes."""
    lines = [
        "Manifest-Version: 1.0",
        f"Implementation-Title: {title}",
        f"Implementation-Version: {version}",
        "Implementation-Vendor: Kofu Systems",
        "Created-By: 1.8.0_202 (Oracle Corporation)",
    ]
    if built_by:
        lines.append(f"Built-By: {built_by}")
    lines.append(f"Build-Time: {build_time}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def build_jar(title: str, version: str, entries: tuple[tuple[str, bytes], ...], when: tuple[int, int, int, int, int, int],
              built_by: str | None = None) -> Blob:
    """A real (stored, uncompressed) jar with fixed timestamps, so its bytes depend only on the arguments."""
    build_time = "{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}+0900".format(*when)
    members: list[tuple[str, bytes | None]] = [("META-INF/", None), ("META-INF/MANIFEST.MF", manifest(title, version, build_time, built_by))]
    folders: set[str] = set()
    for name, data in entries:
        parts = name.split("/")[:-1]
        for depth in range(1, len(parts) + 1):
            folder = "/".join(parts[:depth]) + "/"
            if folder not in folders:
                folders.add(folder)
                members.append((folder, None))
        members.append((name, data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=when)
            info.create_system = 3
            info.compress_type = zipfile.ZIP_STORED
            info.external_attr = (0o40755 << 16) | 0x10 if data is None else 0o100644 << 16
            archive.writestr(info, b"" if data is None else data)
    data = buffer.getvalue()
    return Blob(data, hashlib.sha256(data).hexdigest(), content_sha256_bytes(data), (title, version, entries))


def compiled(path: str, source: bytes) -> tuple[str, bytes]:
    """The jar entry a source compiles to: its class name and bytes that follow the source."""
    name = path.removeprefix("app/").removesuffix(".java")
    body = hashlib.sha256(source).digest()
    return (f"jp/kofu/{name}.class", b"\xca\xfe\xba\xbe\x00\x00\x00\x34" + body * (4 + len(source) // 96))


def date_time(version: str, hour: int = 9) -> tuple[int, int, int, int, int, int]:
    year, month, day = (int(p) for p in RELEASE_DATE[version].split("-"))
    return (year, month, day, hour, 0, 0)


# --------------------------------------------------------------------------------------------------------
# The releases
# --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Commit:
    """One commit of the product's history: a fix landing on a line, or the rest of a release."""

    line: str
    version: str
    """The release it goes into."""
    fix: FixSpec | None
    """The fix it lands (a backport when `line` is not the fix's first landing), or None for the release itself."""
    files: dict[str, Blob | None]
    """What it changes under the deploy root: path → new file, or None for a file it deletes."""
    other: dict[str, bytes] = field(default_factory=dict)
    """What it writes outside the deploy root: repository path → bytes."""


@dataclass
class Product:
    """Every release's files, built release after release from the fixes and a little maintenance."""

    releases: dict[str, dict[str, Blob]] = field(default_factory=dict)
    """version → path → file."""
    line_of: dict[str, str] = field(default_factory=dict)
    history: list[Commit] = field(default_factory=list)
    """The commits that made the releases, in the order they were made."""
    _cache: dict[tuple[str, Rev], Blob] = field(default_factory=dict)

    def blob(self, path: str, rev: Rev) -> Blob:
        key = (path, rev)
        if key not in self._cache:
            if path.endswith(".java"):
                data = java_source(path, rev)
            elif path.endswith(".class"):
                data = class_file(path, rev)
            elif path.endswith(".xml"):
                data = layout(path, rev)
            else:
                data = properties(path, rev)
            self._cache[key] = Blob(data, hashlib.sha256(data).hexdigest())
        return self._cache[key]


def build_product() -> Product:
    product = Product()
    base = base_sources()
    base += [f"{folder}/plugin/{name}.class" for folder, names in PLUGINS.items() for name in names]
    base += [f"app/print/layout/{name}.xml" for name in LAYOUTS]
    base += [f"conf/{name}.properties" for name in CONFIGS]
    third_party = {
        path: build_jar(path[4:].rsplit("-", 1)[0], path.rsplit("-", 1)[1].removesuffix(".jar"),
                        tuple((f"{pkg}/{cls}.class", _digest(f"{path}/{cls}") * 20) for cls in classes), (2017, 11, 2, 10, 0, 0))
        for path, (pkg, classes) in THIRD_PARTY.items()
    }
    landings: dict[tuple[str, str], list[FixSpec]] = {}
    for fix in FIXES:
        for line, version in fix.landings:
            landings.setdefault((line, version), []).append(fix)

    states: dict[str, dict[str, Rev]] = {}
    jars: dict[str, dict[str, Blob]] = {}
    for line, version, _ in RELEASES:
        changed: dict[str, list[str]] = {"app/core/Version.java": [], "conf/version.properties": []}
        if version == "7.4.0":
            state = {path: Rev(version) for path in base}
            maintenance = 0
        elif (line, version) == (FORK[0], FORK[3]):
            state = {p: r for p, r in states[FORK[1]].items() if p not in ONLY_7X}
            state |= {path: Rev(version) for path in ONLY_8X}
            maintenance = 48  # a major release reworks many files
        else:
            state = dict(states[line])
            maintenance = 6
        for path in ADDED_LATER.get(version, ()):
            state[path] = Rev(version)
        fix_revs: list[tuple[FixSpec, dict[str, Rev]]] = []
        for fix in landings.get((line, version), []):
            revs: dict[str, Rev] = {}
            for path in fix.files + fix.touches:
                if path.endswith(".jar"):
                    continue  # a jar follows its sources
                assert path in state, f"{fix.id}: {path} is not in {line} {version}"
                if fix.id not in state[path].notes:  # a line forked after the fix inherits it
                    changed.setdefault(path, []).append(fix.id)
                    if path in fix.files:  # the files it touches come with the release commit
                        revs[path] = Rev(version, state[path].notes + tuple(changed[path]))
            fix_revs.append((fix, revs))
        candidates = [p for p in sorted(state) if p.endswith((".java", ".class", ".xml")) and p != "app/core/Version.java"]
        for path in ranked(candidates, f"maintenance {version}")[:maintenance]:
            changed.setdefault(path, [])
        for path in sorted(changed):
            state[path] = Rev(version, state[path].notes + tuple(changed[path]))
        states[line] = state

        files = {path: product.blob(path, rev) for path, rev in state.items()}
        previous = jars.get(line) or jars.get(FORK[1], {})
        current: dict[str, Blob] = {}
        for jar, folders in JAR_SOURCES.items():
            entries = tuple(compiled(p, files[p].data) for p in sorted(files) if p.endswith(".java") and p.startswith(folders))
            old = previous.get(jar)
            if old is not None and old.jar is not None and old.jar[2] == entries:
                current[jar] = old
            else:
                current[jar] = build_jar(jar[4:-4], version, entries, date_time(version))
        jars[line] = current
        files |= current | third_party
        previous_release = [v for v in product.releases if product.line_of[v] == line] or (
            [FORK[2]] if (line, version) == (FORK[0], FORK[3]) else [])
        work = dict(product.releases[previous_release[-1]]) if previous_release else {}
        product.history += fix_commits(product, line, version, fix_revs, work)
        release = dict(sorted(files.items()))
        changes: dict[str, Blob | None] = {p: b for p, b in release.items() if p not in work or work[p].sha256 != b.sha256}
        changes |= {p: None for p in work if p not in release}
        product.history.append(Commit(line, version, None, changes))
        product.releases[version] = release
        product.line_of[version] = line
    return product


def fix_commits(product: Product, line: str, version: str, fix_revs: list[tuple[FixSpec, dict[str, Rev]]],
                work: dict[str, Blob]) -> list[Commit]:
    """The commits that land `version`'s fixes on `line`, one per fix, on top of the previous release (`work`).

    Each changes the fix's files (its evidence, not the files it touches) to what they are at the release, with
    the fixes landed so far; a jar among the fix's files is rebuilt from the sources at that commit. A fix
    without files changes only its note (outside the deploy root). A landing the line inherited at its fork
    changes nothing and makes no commit: git ancestry carries it.
    """
    commits = []
    for fix, revs in fix_revs:
        if fix.note:
            commits.append(Commit(line, version, fix, {}, {fix.note: note_text(fix)}))
            continue
        if not revs:
            assert (line, version) == (FORK[0], FORK[3]), f"{fix.id} changes nothing on {line} {version}"
            continue
        files: dict[str, Blob | None] = {}
        for path, rev in sorted(revs.items()):
            blob = product.blob(path, rev)
            assert path in work and work[path].sha256 != blob.sha256, f"{fix.id}: {path} does not change"
            files[path] = work[path] = blob
        for jar in (p for p in fix.files if p.endswith(".jar")):
            entries = tuple(compiled(p, work[p].data) for p in sorted(work) if p.endswith(".java") and p.startswith(JAR_SOURCES[jar]))
            files[jar] = work[jar] = build_jar(jar[4:-4], version, entries, date_time(version))
        commits.append(Commit(line, version, fix, files))
    return commits


def note_text(fix: FixSpec) -> bytes:
    """The note a fix without files commits: what to set, and why."""
    lines = [f"# {fix.title}", "", f"Fix {fix.id} ({fix.severity}). The releases that ship it ("
             + ", ".join(version for _, version in fix.landings) + ") honour these settings; set them at every site:", ""]
    lines += [f"- `{key}={expect}` in `{file}`" for file, key, expect in fix.config]
    lines += ["", "The code that reads the setting is inert without it: a site that keeps the old value does not have the fix.", ""]
    return "\n".join(lines).encode()


# --------------------------------------------------------------------------------------------------------
# The product's git history, and its catalog from `drift catalog build`
# --------------------------------------------------------------------------------------------------------

AUTHOR = ("Kofu Systems Development", "dev@kofu.example")
COMMITTER = ("Kofu Systems Release", "release@kofu.example")
BRANCHES = {FORK[1]: FORK[1], FORK[0]: "main"}
"""After the fork, `main` goes on as the new line and the old line gets a branch of its own."""
LINE_OF = (r"^v7=7.x", r"^v8=8.x")
README_TEXT = ("# kofu\n\nCertificate issuance for municipalities (fictional; written by drift's "
               "examples/make_reference_fleet.py).\n\n`kofu/` is the deploy root.\n")


class Git:
    """A repository written with the git command line: no user or system configuration, pinned people and dates."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.when = "2018-01-01T09:00:00+09:00"
        path.mkdir(parents=True)
        self("init", "-q", "-b", "main")

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        env.update(
            GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1", GIT_TERMINAL_PROMPT="0", LC_ALL="C", TZ="UTC",
            GIT_AUTHOR_NAME=AUTHOR[0], GIT_AUTHOR_EMAIL=AUTHOR[1], GIT_AUTHOR_DATE=self.when,
            GIT_COMMITTER_NAME=COMMITTER[0], GIT_COMMITTER_EMAIL=COMMITTER[1], GIT_COMMITTER_DATE=self.when,
        )
        return env

    def __call__(self, *args: str, stdin: str | None = None) -> str:
        done = subprocess.run(["git", *args], cwd=self.path, env=self.env(), input=stdin, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"git {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout.strip()

    def commit(self, files: dict[str, bytes | None], message: str) -> str:
        """Write and delete `files` (repository paths), commit everything with `message`, and return the commit."""
        for rel, data in files.items():
            target = self.path / rel
            if data is None:
                target.unlink()
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
        self("add", "-A")
        self("commit", "-q", "-F", "-", stdin=message)
        return self("rev-parse", "HEAD")


def write_history(product: Product, path: Path) -> dict[str, str]:
    """The product's history as a git repository at `path`; returns each fix's first landing commit.

    Every commit of a release is dated on the release day (Japan time, so the UTC date is the same): its fixes
    from 10:00, a minute apart, then the release commit at 12:00, tagged `v<version>`. The new line forks at
    the fork release's tag. A fix's later landings are backports: commits whose message ends like one of
    `git cherry-pick -x`, `(cherry picked from commit <sha>)`, written rather than picked because the two
    lines' files differ (a pick would conflict).
    """
    git = Git(path)
    first: dict[str, str] = {}
    branch, forked, minute = "main", False, 0
    for commit in product.history:
        release_day = RELEASE_DATE[commit.version]
        if (commit.line, commit.version) == (FORK[0], FORK[3]) and not forked:
            git("branch", FORK[1], f"v{FORK[2]}")
            forked = True
        wanted = BRANCHES[commit.line] if forked else "main"
        if wanted != branch:
            git("checkout", "-q", wanted)
            branch = wanted
        files = {DEPLOY_ROOT + p: (None if b is None else b.data) for p, b in commit.files.items()} | dict(commit.other)
        if commit.fix is None:
            git.when = f"{release_day}T12:00:00+09:00"
            if commit.version == RELEASES[0][1]:
                files["README.md"] = README_TEXT.encode()
            git.commit(files, f"Release {commit.version}\n")
            git("tag", "-a", "-m", f"{PRODUCT} {commit.version}", f"v{commit.version}")
            minute = 0
            continue
        git.when = f"{release_day}T10:{minute:02d}:00+09:00"
        minute += 1
        fix = commit.fix
        if fix.id not in first:
            first[fix.id] = git.commit(files, f"{fix.title}\n\nFix {fix.id} ({fix.severity}).\n")
        else:
            git.commit(files, f"{fix.title} ({commit.line})\n\nFix {fix.id} ({fix.severity}).\n\n(cherry picked from commit {first[fix.id]})\n")
    return first


def register_yaml(first: dict[str, str]) -> str:
    """The vendor's fix register: each fix with the commit of its first landing only (the build finds backports)."""
    entries = []
    for fix in FIXES:
        entry: dict[str, object] = {"id": fix.id, "title": fix.title, "severity": fix.severity, "published": fix.published, "aliases": []}
        applies_to = {k: list(v) for k, v in (("editions", fix.editions), ("modules", fix.modules)) if v}
        if applies_to:
            entry["applies_to"] = applies_to
        entry["commits"] = [first[fix.id]]
        if fix.config:
            entry["config"] = [{"file": file, "key": key, "expect": expect} for file, key, expect in fix.config]
        entries.append(entry)
    return yaml.safe_dump(entries, sort_keys=False, allow_unicode=True, width=1000)


def build_catalog(product: Product, work: Path) -> tuple[dict[str, str], str]:
    """Write the history and the register under `work`, run `drift catalog build`: the catalog's files, and
    what the build said."""
    repo = work / PRODUCT
    first = write_history(product, repo)
    register = work / "FIXES.yaml"
    register.write_text(register_yaml(first), encoding="utf-8")
    out = work / "manifests"
    args = ["catalog", "build", "--repo", str(repo), "--fixes", str(register), "--include", f"{DEPLOY_ROOT}*",
            "--map", f"{DEPLOY_ROOT}=", *(a for rule in LINE_OF for a in ("--line-of", rule)),
            *(a for glob, module in MODULE_RULES for a in ("--module", f"{glob}={module}")), "--product", PRODUCT, "--out", str(out)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1", PYTHONPATH=os.pathsep.join(filter(None, (str(REPO), env.get("PYTHONPATH")))))
    done = subprocess.run([sys.executable, "-m", "drift", *args], cwd=work, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"drift catalog build failed ({done.returncode}): {done.stderr.strip()}")
    if "warning:" in done.stderr:
        raise RuntimeError(f"drift catalog build warned: {done.stderr.strip()}")
    files = {f"manifests/{p.relative_to(out).as_posix()}": p.read_text(encoding="utf-8") for p in sorted(out.rglob("*")) if p.is_file()}
    for path, text in files.items():  # the manifests name the module of each file as the inventories deploy it
        if path.startswith("manifests/releases/"):
            for entry in yaml.safe_load(text)["files"]:
                assert entry.get("module") == module_of(entry["path"]), f"{path}: {entry}"
    return files, done.stderr


# A small deterministic YAML emitter: plain scalars where that is unambiguous, JSON-quoted strings otherwise.
_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_./+-]*|[\u3005\u3040-\u30ff\u4e00-\u9fff]+")
_RESERVED = {"y", "n", "yes", "no", "true", "false", "on", "off", "null"}


def scalar(value: str, *, quote: bool = False) -> str:
    if not quote and _PLAIN.fullmatch(value) and value.lower() not in _RESERVED:
        return value
    return json.dumps(value, ensure_ascii=False)


def flow(item: dict[str, object], quoted: Iterable[str] = ()) -> str:
    parts = []
    for key, value in item.items():
        if isinstance(value, list):
            text = "[" + ", ".join(scalar(str(v), quote=key in quoted) for v in value) + "]"
        else:
            text = scalar(str(value), quote=key in quoted)
        parts.append(f"{key}: {text}")
    return "{" + ", ".join(parts) + "}"


HEADER = "# Generated by examples/make_reference_fleet.py: edit the script, not this file.\n"


# --------------------------------------------------------------------------------------------------------
# The tenants
# --------------------------------------------------------------------------------------------------------

MODULE_LETTERS = {"k": "konbini", "r": "renkei", "f": "koseki", "i": "inkan", "m": "madoguchi"}


@dataclass(frozen=True)
class TenantSpec:
    """One municipality and what the June 2023 recheck found there."""

    id: str
    name: str
    prefecture: str
    edition: str
    line: str
    modules: tuple[str, ...]
    release: str
    """The release it runs."""
    konbini_from: str | None = None
    """Its konbini module is of this older release (a mixed-release deployment)."""
    konbini_jar_from: str | None = None
    """Only its `lib/kofu-konbini.jar` is of this older release."""


def T(code: str, name: str, prefecture: str, line: str, letters: str, release: str = "", *, seirei: bool = False,
      konbini: str | None = None, jar: str | None = None) -> TenantSpec:
    """Shorthand: `letters` are modules (k konbini, r renkei, f koseki/family register, i inkan, m madoguchi);
    `release` defaults to the newest of the line."""
    modules = tuple(sorted(MODULE_LETTERS[c] for c in letters))
    return TenantSpec(code, name, prefecture, "seirei" if seirei else "standard", line, modules, release or NEWEST[line], konbini, jar)


# 123 municipalities with their real local government codes (JIS X 0402, check digit verified below).
# Designated cities (政令指定都市) run the `seirei` edition. Roles: see the module docstring.
TENANTS: tuple[TenantSpec, ...] = (
    T("011002", "札幌市", "北海道", "8.x", "kfimr", seirei=True),
    T("012025", "函館市", "北海道", "8.x", "kfim", "8.2.0", konbini="8.0.0"),
    T("012041", "旭川市", "北海道", "7.x", "kfim", "7.4.2"),
    T("012068", "釧路市", "北海道", "7.x", "fim"),
    T("012076", "帯広市", "北海道", "8.x", "kim"),
    T("022012", "青森市", "青森県", "7.x", "kfim", "7.4.5", konbini="7.4.2"),
    T("032018", "盛岡市", "岩手県", "8.x", "kfimr"),
    T("041009", "仙台市", "宮城県", "8.x", "kfimr", seirei=True),
    T("042021", "石巻市", "宮城県", "7.x", "fim"),
    T("052019", "秋田市", "秋田県", "8.x", "kfim", "8.0.0"),
    T("062014", "山形市", "山形県", "8.x", "kfimr"),
    T("072010", "福島市", "福島県", "8.x", "kfim", "8.2.1", konbini="8.0.0"),
    T("072036", "郡山市", "福島県", "8.x", "kim"),
    T("082015", "水戸市", "茨城県", "7.x", "kfim", "7.4.1"),
    T("082023", "日立市", "茨城県", "8.x", "fim"),
    T("092011", "宇都宮市", "栃木県", "8.x", "kfimr", "8.2.2", konbini="8.0.0"),
    T("102016", "前橋市", "群馬県", "8.x", "kfim"),
    T("102024", "高崎市", "群馬県", "8.x", "kfimr"),
    T("111007", "さいたま市", "埼玉県", "8.x", "kfimr", "8.2.2", seirei=True, konbini="8.0.0"),
    T("112011", "川越市", "埼玉県", "8.x", "kfim"),
    T("112038", "川口市", "埼玉県", "8.x", "kfimr", "8.0.0"),
    T("112089", "所沢市", "埼玉県", "8.x", "kim"),
    T("112224", "越谷市", "埼玉県", "7.x", "kfim", "7.4.6", konbini="7.4.2"),
    T("121002", "千葉市", "千葉県", "8.x", "kfimr", seirei=True),
    T("122033", "市川市", "千葉県", "8.x", "kfim", "8.1.3", konbini="8.0.0"),
    T("122041", "船橋市", "千葉県", "8.x", "kfimr"),
    T("122076", "松戸市", "千葉県", "8.x", "kfim"),
    T("122173", "柏市", "千葉県", "7.x", "kfim"),
    T("131016", "千代田区", "東京都", "8.x", "kfim"),
    T("131024", "中央区", "東京都", "8.x", "kfimr"),
    T("131032", "港区", "東京都", "8.x", "kfimr", "8.2.2", konbini="8.0.0"),
    T("131041", "新宿区", "東京都", "8.x", "kfimr"),
    T("131059", "文京区", "東京都", "8.x", "kfim"),
    T("131067", "台東区", "東京都", "8.x", "kfim", "8.2.1", konbini="8.0.0"),
    T("131075", "墨田区", "東京都", "8.x", "kfim"),
    T("131083", "江東区", "東京都", "8.x", "kfimr"),
    T("131091", "品川区", "東京都", "8.x", "kfimr", "8.2.2", konbini="8.0.0"),
    T("131105", "目黒区", "東京都", "8.x", "kfim"),
    T("131113", "大田区", "東京都", "8.x", "kfimr"),
    T("131121", "世田谷区", "東京都", "8.x", "kfimr", "8.2.0", konbini="8.0.0"),
    T("131130", "渋谷区", "東京都", "8.x", "kfim"),
    T("131148", "中野区", "東京都", "8.x", "kfim", "8.0.0"),
    T("131156", "杉並区", "東京都", "8.x", "kfimr"),
    T("131164", "豊島区", "東京都", "8.x", "kfim"),
    T("131172", "北区", "東京都", "8.x", "kfim", "8.1.2", konbini="8.0.0"),
    T("131181", "荒川区", "東京都", "8.x", "kfim"),
    T("131199", "板橋区", "東京都", "8.x", "kfimr"),
    T("131202", "練馬区", "東京都", "8.x", "kfimr", "8.2.2", konbini="8.0.0"),
    T("131211", "足立区", "東京都", "8.x", "kfimr", "8.2.2", jar="8.0.0"),
    T("131229", "葛飾区", "東京都", "8.x", "kfim"),
    T("131237", "江戸川区", "東京都", "8.x", "kfimr", "8.2.1", konbini="8.0.0"),
    T("132012", "八王子市", "東京都", "8.x", "kfim"),
    T("132021", "立川市", "東京都", "8.x", "kfim"),
    T("132039", "武蔵野市", "東京都", "8.x", "kfim", "8.2.2", konbini="8.0.0"),
    T("132047", "三鷹市", "東京都", "8.x", "kfim"),
    T("132063", "府中市", "東京都", "8.x", "kfim"),
    T("132080", "調布市", "東京都", "8.x", "kfimr", "8.0.0"),
    T("132098", "町田市", "東京都", "8.x", "kfimr"),
    T("141003", "横浜市", "神奈川県", "8.x", "kfimr", "8.2.2", seirei=True, jar="8.0.0"),
    T("141305", "川崎市", "神奈川県", "8.x", "kfimr", seirei=True),
    T("141500", "相模原市", "神奈川県", "8.x", "kfimr", seirei=True),
    T("142018", "横須賀市", "神奈川県", "8.x", "kfim", "8.1.1", konbini="8.0.0"),
    T("142042", "鎌倉市", "神奈川県", "7.x", "kfim"),
    T("142051", "藤沢市", "神奈川県", "8.x", "kfimr"),
    T("142069", "小田原市", "神奈川県", "7.x", "kfim", "7.4.4", konbini="7.4.2"),
    T("151009", "新潟市", "新潟県", "8.x", "kfimr", "8.2.1", seirei=True),
    T("152021", "長岡市", "新潟県", "8.x", "kfim"),
    T("162019", "富山市", "富山県", "8.x", "kfim"),
    T("172014", "金沢市", "石川県", "8.x", "kfimr", "8.2.2", konbini="8.0.0"),
    T("182010", "福井市", "福井県", "7.x", "kfim"),
    T("192015", "甲府市", "山梨県", "7.x", "fim"),
    T("202011", "長野市", "長野県", "7.x", "kfim", "7.4.5"),
    T("212016", "岐阜市", "岐阜県", "8.x", "kfim"),
    T("221007", "静岡市", "静岡県", "8.x", "kfimr", seirei=True),
    T("221309", "浜松市", "静岡県", "8.x", "kfimr", seirei=True),
    T("222038", "沼津市", "静岡県", "7.x", "kfim", "7.4.2"),
    T("231002", "名古屋市", "愛知県", "8.x", "kfimr", seirei=True),
    T("232017", "豊橋市", "愛知県", "8.x", "kfim", "8.2.0", konbini="8.0.0"),
    T("232025", "岡崎市", "愛知県", "8.x", "kfim"),
    T("232114", "豊田市", "愛知県", "8.x", "kfimr"),
    T("242012", "津市", "三重県", "7.x", "kfim", "7.4.3", konbini="7.4.1"),
    T("252018", "大津市", "滋賀県", "8.x", "kfim"),
    T("261009", "京都市", "京都府", "8.x", "kfimr", seirei=True),
    T("262048", "宇治市", "京都府", "7.x", "fim"),
    T("271004", "大阪市", "大阪府", "8.x", "kfimr", seirei=True),
    T("271403", "堺市", "大阪府", "8.x", "kfimr", "8.2.2", seirei=True, jar="8.0.0"),
    T("272035", "豊中市", "大阪府", "8.x", "kfim"),
    T("272051", "吹田市", "大阪府", "8.x", "kfimr", "8.2.1", konbini="8.0.0"),
    T("272078", "高槻市", "大阪府", "8.x", "kfim"),
    T("272108", "枚方市", "大阪府", "7.x", "kfim", "7.4.2"),
    T("272272", "東大阪市", "大阪府", "8.x", "kfim"),
    T("281000", "神戸市", "兵庫県", "8.x", "kfimr", seirei=True),
    T("282014", "姫路市", "兵庫県", "8.x", "kfim"),
    T("282022", "尼崎市", "兵庫県", "8.x", "kfimr", "8.2.2", konbini="8.0.0"),
    T("282031", "明石市", "兵庫県", "8.x", "kfim"),
    T("282049", "西宮市", "兵庫県", "8.x", "kfim", "8.0.0"),
    T("292010", "奈良市", "奈良県", "7.x", "kfim"),
    T("302015", "和歌山市", "和歌山県", "7.x", "kfim", "7.4.6", konbini="7.4.2"),
    T("312011", "鳥取市", "鳥取県", "7.x", "fim"),
    T("322016", "松江市", "島根県", "8.x", "kfim"),
    T("331007", "岡山市", "岡山県", "7.x", "kfim", "7.4.6", seirei=True, konbini="7.4.2"),
    T("332020", "倉敷市", "岡山県", "8.x", "kfim"),
    T("341002", "広島市", "広島県", "8.x", "kfimr", seirei=True),
    T("342025", "呉市", "広島県", "7.x", "kfim"),
    T("342076", "福山市", "広島県", "8.x", "kfim", "8.1.3", konbini="8.0.0"),
    T("352012", "下関市", "山口県", "7.x", "kfim", "7.4.1"),
    T("352039", "山口市", "山口県", "8.x", "kfim"),
    T("362018", "徳島市", "徳島県", "8.x", "kfim"),
    T("372013", "高松市", "香川県", "8.x", "kfim"),
    T("382019", "松山市", "愛媛県", "7.x", "kfim", "7.4.5", konbini="7.4.2"),
    T("392014", "高知市", "高知県", "7.x", "fim"),
    T("401005", "北九州市", "福岡県", "7.x", "kfimr", seirei=True),
    T("401307", "福岡市", "福岡県", "8.x", "kfimr", seirei=True),
    T("402036", "久留米市", "福岡県", "8.x", "kfim"),
    T("402206", "宗像市", "福岡県", "8.x", "km", "8.2.1", konbini="8.0.0"),
    T("412015", "佐賀市", "佐賀県", "8.x", "kfim"),
    T("422011", "長崎市", "長崎県", "7.x", "kfim", "7.4.2"),
    T("431001", "熊本市", "熊本県", "8.x", "kfimr", seirei=True),
    T("432024", "八代市", "熊本県", "8.x", "kfim"),
    T("442011", "大分市", "大分県", "8.x", "kfim"),
    T("452017", "宮崎市", "宮崎県", "7.x", "kfim"),
    T("462012", "鹿児島市", "鹿児島県", "8.x", "kfimr"),
    T("472018", "那覇市", "沖縄県", "8.x", "kfim"),
)

REBUILT_JARS = {
    "431001": ("lib/kofu-konbini.jar", (2023, 4, 11, 21, 14, 52), "kumamoto-ops"),
    "221309": ("lib/kofu-print.jar", (2023, 6, 2, 19, 40, 7), "hamamatsu-build"),
    "132012": ("lib/kofu-core.jar", (2023, 6, 6, 8, 3, 30), "hachioji-it"),
}
"""Jars rebuilt locally from the shipped classes: (path, zip timestamps, Built-By)."""
LOCAL_PATCHES = {"281000": ("app/madoguchi/ReceiptNumber.java", "    // local patch 2022-11-08: receipt prefix for the Kita ward annex\n")}
"""Files changed by hand at the tenant: (path, line inserted before the class's closing brace)."""
CUSTOM_FILES = {
    "141305": tuple(f"app/renkei/custom/{name}.java" for name in ("KawasakiLink", "KawasakiLinkBatch", "KawasakiLinkMapper", "KawasakiLinkConfig"))
    + ("conf/kawasaki-link.properties", "lib/kawasaki-link.jar"),
}
"""Files no release knows (a program the municipality had built for itself)."""
CONFIG_EDITS = {"362018": (PRINT_CONF, "print.lock.mode=exclusive", "print.lock.mode=shared")}
"""Local edits of a config file: (file, shipped line, local line)."""
UNREADABLE = {"131016": ("conf/db.properties", "permission denied")}


def check_codes() -> None:
    """Every 6-digit id is a JIS X 0402 code with the right check digit; no id or name twice."""
    seen: set[str] = set()
    for tenant in TENANTS:
        digits = [int(d) for d in tenant.id]
        check = (11 - sum(d * w for d, w in zip(digits[:5], (6, 5, 4, 3, 2), strict=True)) % 11) % 10
        assert len(tenant.id) == 6 and digits[5] == check, f"{tenant.id} {tenant.name}: check digit should be {check}"
        assert tenant.id not in seen, tenant.id
        seen.add(tenant.id)
        assert tenant.release in (v for ln, v, _ in RELEASES if ln == tenant.line), f"{tenant.id}: {tenant.release}"
    assert len(TENANTS) == 123
    assert len({(t.prefecture, t.name) for t in TENANTS}) == 123


def inventory_files(product: Product, tenant: TenantSpec) -> dict[str, Blob]:
    """What the tenant's deploy root holds."""
    deployed = set(tenant.modules)
    files = {p: b for p, b in product.releases[tenant.release].items() if module_of(p) in deployed or module_of(p) is None}
    if tenant.konbini_from:
        files = {p: b for p, b in files.items() if module_of(p) != "konbini"}
        files |= {p: b for p, b in product.releases[tenant.konbini_from].items() if module_of(p) == "konbini"}
    if tenant.konbini_jar_from:
        files["lib/kofu-konbini.jar"] = product.releases[tenant.konbini_jar_from]["lib/kofu-konbini.jar"]
    if tenant.id in REBUILT_JARS:
        path, when, built_by = REBUILT_JARS[tenant.id]
        assert files[path].jar is not None
        title, version, entries = files[path].jar
        files[path] = build_jar(title, version, entries, when, built_by)
        assert files[path].content_sha256 == product.releases[tenant.release][path].content_sha256
    if tenant.id in LOCAL_PATCHES:
        path, line = LOCAL_PATCHES[tenant.id]
        text = files[path].data.decode()
        head, _, tail = text.rpartition("}\n")
        files[path] = _blob((head + line + "}\n" + tail).encode())
    if tenant.id in CONFIG_EDITS:
        path, shipped, local = CONFIG_EDITS[tenant.id]
        text = files[path].data.decode()
        assert shipped in text
        files[path] = _blob(text.replace(shipped, local).encode())
    for path in CUSTOM_FILES.get(tenant.id, ()):
        if path.endswith(".jar"):
            entries = tuple((f"jp/lg/kawasaki/link/{n}.class", _digest(f"{tenant.id}/{n}") * 30) for n in ("Client", "Mapper", "Batch"))
            files[path] = build_jar("kawasaki-link", "1.3.0", entries, (2021, 9, 24, 17, 5, 0))
        elif path.endswith(".java"):
            files[path] = _blob(java_source(path, Rev("kawasaki-1.3.0")))
        else:
            files[path] = _blob(b"# Kawasaki on-demand linkage (custom)\nlink.endpoint=https://renkei.city.kawasaki.internal/api\nlink.batch.hour=2\n")
    if tenant.id in UNREADABLE:
        del files[UNREADABLE[tenant.id][0]]
    return dict(sorted(files.items()))


def _blob(data: bytes) -> Blob:
    return Blob(data, hashlib.sha256(data).hexdigest())


def config_values(files: dict[str, Blob]) -> list[ConfigValue]:
    """The settings the catalog's config checks ask for, from the tenant's own files."""
    values = []
    for path, key in sorted({(f, k) for fix in FIXES for f, k, _ in fix.config}):
        if path in files:
            settings = dict(line.split("=", 1) for line in files[path].data.decode().splitlines() if "=" in line and not line.startswith("#"))
            values.append(ConfigValue(path, key, settings.get(key)))
    return values


def inventory_json(tenant: TenantSpec, index: int, files: dict[str, Blob]) -> str:
    collected_at = f"2023-06-{12 + index % 5:02d}T{index * 7 % 10:02d}:{index * 13 % 60:02d}:{index * 29 % 60:02d}Z"
    unreadable = [Unreadable(*UNREADABLE[tenant.id])] if tenant.id in UNREADABLE else []
    return dumps_inventory(
        tenant=tenant.id,
        collected_at=collected_at,
        collector="drift 0.1.0",
        content_hash="drift-content/1",
        files={p: FileRecord(len(b.data), b.sha256, b.content_sha256) for p, b in files.items()},
        config=config_values(files),
        unreadable=unreadable,
    ).decode("utf-8")


def tenants_yaml() -> str:
    out = [HEADER]
    for t in sorted(TENANTS, key=lambda t: t.id):
        item: dict[str, object] = {"id": t.id, "name": t.name, "prefecture": t.prefecture, "edition": t.edition, "line": t.line,
                                   "modules": list(t.modules)}
        out.append("- " + flow(item, quoted=("id", "line")) + "\n")
    return "".join(out)


# --------------------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------------------


def generate(verbose: bool = False) -> dict[str, str]:
    """Every file of the reference fleet: relative path → text."""
    check_codes()
    product = build_product()
    with tempfile.TemporaryDirectory(prefix="kofu-") as work:
        out, report = build_catalog(product, Path(work))
    if verbose:
        sys.stderr.write(report)
    out["inventory/tenants.yaml"] = tenants_yaml()
    for index, tenant in enumerate(sorted(TENANTS, key=lambda t: t.id)):
        out[f"inventory/{tenant.id}.json"] = inventory_json(tenant, index, inventory_files(product, tenant))
    for path, text in out.items():  # every YAML file must read back as YAML
        if path.endswith(".yaml"):
            yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return out


def generated_kind(relpath: str) -> bool:
    """True for the files this script owns (so a rerun removes the ones it no longer writes)."""
    return bool(
        re.fullmatch(r"manifests/(catalog\.yaml|releases/[^/]+/[^/]+\.yaml|fixes/[^/]+\.yaml)", relpath)
        or re.fullmatch(r"inventory/(tenants\.yaml|\d{6}\.json)", relpath)
    )


def write(out: dict[str, str], root: Path) -> tuple[int, int]:
    """Write every file (only those whose bytes change) and remove stale generated ones: (written, removed)."""
    written = removed = 0
    for folder in ("manifests", "inventory"):
        for path in sorted((root / folder).rglob("*")) if (root / folder).is_dir() else []:
            rel = path.relative_to(root).as_posix()
            if path.is_file() and generated_kind(rel) and rel not in out:
                path.unlink()
                removed += 1
    for rel, text in out.items():
        path = root / rel
        data = text.encode("utf-8")
        if path.is_file() and path.read_bytes() == data:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        written += 1
    return written, removed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, default=REPO, help="folder to write manifests/ and inventory/ into (default: the repository root)")
    parser.add_argument("-v", "--verbose", action="store_true", help="also print what `drift catalog build` said (backports found, ...)")
    args = parser.parse_args(argv)
    out = generate(verbose=args.verbose)
    written, removed = write(out, args.out)
    fixes = sum(1 for p in out if p.startswith("manifests/fixes/"))
    releases = sum(1 for p in out if p.startswith("manifests/releases/"))
    print(f"{len(out)} files ({releases} releases, {fixes} fixes, {len(TENANTS)} tenants) in {args.out}: "
          f"{written} written, {len(out) - written} unchanged, {removed} removed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
