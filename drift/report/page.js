/* drift report: draws the tenants x fixes matrix from the embedded data and opens a cell's evidence or a
   tenant's detail on click. Filters work on the data, never on the DOM; the body holds only the rows that
   pass them, and on a large fleet only those near the visible part of the scroll box (a screenful or more). */
(function () {
  "use strict";

  var D = JSON.parse(document.getElementById("report-data").textContent);
  var W = D.words;
  var STATUSES = D.statuses;
  var SEVERITIES = D.severities;
  var KINDS = D.kinds;
  var FIXES = D.fixes;
  var TENANTS = D.tenants;
  var FINDINGS = D.findings;
  var F = FIXES.length;
  var T = TENANTS.length;
  var NONE = 255;
  var WAIVED = STATUSES.indexOf("waived");
  var LACKING = [STATUSES.indexOf("missing"), STATUSES.indexOf("partial"), STATUSES.indexOf("unverifiable")];
  var FULL_LIMIT = 20000;    // cells: up to this many, every matching row is drawn at once
  var PRINT_LIMIT = 100000;  // cells drawn for printing
  var PRINT_FIXES = 60;      // fix columns that fit across a landscape A4 page (page.css, print)
  var BUFFER = 10;           // rows drawn beyond the visible ones, above and below
  var MIN_ROWS = 40;         // rows drawn at least, even before the scroll box has a size
  var FIX_WIDTH = 20;        // px: a fix column's width (page.css)

  var $ = function (id) { return document.getElementById(id); };
  var scroller = $("matrix-scroll");
  var table = $("matrix");
  var thead = table.tHead;
  var tbody = table.tBodies[0];
  var main = $("main");

  // Strings from tenants: `attr` HTML-escapes a value kept as it is (a data-* attribute the script matches on);
  // `esc` also shows control and reordering characters as visible escapes (\e, \n, \u202e), as drift's
  // terminal output does (drift/text.py), so that no bidi override can reverse what a cell or line says.
  var UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ud800-\udfff]/gu;
  var NAMED = { "\n": "\\n", "\r": "\\r", "\t": "\\t", "\u001b": "\\e" };
  function visible(c) {
    if (NAMED[c]) { return NAMED[c]; }
    var code = c.charCodeAt(0);
    return code <= 0xff ? "\\x" + ("0" + code.toString(16)).slice(-2) : "\\u" + ("000" + code.toString(16)).slice(-4);
  }
  function attr(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;" }[c];
    });
  }
  function esc(text) { return attr(String(text).replace(UNSAFE, visible)); }
  function word(key, fallback) { return Object.prototype.hasOwnProperty.call(W, key) ? W[key] : (fallback === undefined ? key : fallback); }
  function statusWord(name) { return word("s_" + name, name); }
  function norm(text) { return String(text).normalize("NFKC").toLowerCase(); }

  // The status of every cell, waivers applied; waivers, expired waivers and changes by cell.
  var codes = new Uint8Array(T * F);
  var waiverAt = new Map();
  var expiredAt = new Map();
  var changeAt = new Map();
  var t, f;
  for (t = 0; t < T; t++) {
    var cells = TENANTS[t].cells;
    for (f = 0; f < F; f++) {
      codes[t * F + f] = cells[f] < 0 ? NONE : FINDINGS[cells[f]][1];
    }
  }
  D.waivers.forEach(function (w) {
    var key = w.t * F + w.f;
    if (w.expired) { expiredAt.set(key, w); } else { waiverAt.set(key, w); codes[key] = WAIVED; }
  });
  D.changes.forEach(function (c) { changeAt.set(c[0] * F + c[1], c); });
  var tenantById = new Map();
  TENANTS.forEach(function (tenant, i) { tenantById.set(tenant.id, i); });
  var fixById = new Map();
  FIXES.forEach(function (fix, i) { fixById.set(fix.id, i); });
  var searchText = TENANTS.map(function (tenant) { return norm(tenant.id) + "\u0000" + norm(tenant.name); });
  // The filters' option values are the strings escaped as `esc` shows them (drift/report/html.py).
  function shownValue(text) { return String(text).replace(UNSAFE, visible); }
  var filterValues = TENANTS.map(function (tenant) {
    return { pref: shownValue(tenant.pref), ed: shownValue(tenant.ed), line: shownValue(tenant.line) };
  });
  var lacking = new Int32Array(F);
  for (t = 0; t < T; t++) {
    for (f = 0; f < F; f++) {
      if (LACKING.indexOf(codes[t * F + f]) >= 0) { lacking[f]++; }
    }
  }

  // Orders, each computed once when first asked for.
  var collator = new Intl.Collator(D.lang === "ja" ? "ja" : "en", { numeric: true });
  var tenantOrders = {};
  function tenantOrder(key) {
    if (!tenantOrders[key]) {
      var order = TENANTS.map(function (_, i) { return i; });  // "worst": the data's own order
      var field = { id: "id", name: "name", prefecture: "pref", edition: "ed", line: "line" }[key];
      if (field) {
        order.sort(function (a, b) { return collator.compare(TENANTS[a][field], TENANTS[b][field]) || a - b; });
      }
      tenantOrders[key] = order;
    }
    return tenantOrders[key];
  }
  var fixOrders = {};
  function fixOrder(key) {
    if (!fixOrders[key]) {
      var order = FIXES.map(function (_, i) { return i; });  // "severity": the data's own order
      if (key === "lacking") {
        order.sort(function (a, b) { return lacking[b] - lacking[a] || a - b; });
      } else if (key === "id") {
        order.sort(function (a, b) { return collator.compare(FIXES[a].id, FIXES[b].id); });
      }
      fixOrders[key] = order;
    }
    return fixOrders[key];
  }

  // Filtering, on the data.
  var controls = {
    pref: $("filter-prefecture"), ed: $("filter-edition"), line: $("filter-line"), sev: $("filter-severity"),
    status: $("filter-status"), q: $("search"), sort: $("sort"), fixSort: $("sort-fixes")
  };
  var visibleFixes = [];
  var matching = [];

  function applyFilters() {
    var pref = controls.pref.value;
    var ed = controls.ed.value;
    var line = controls.line.value;
    var sev = controls.sev.value === "" ? -1 : SEVERITIES.indexOf(controls.sev.value);
    var status = controls.status.value === "" ? -1 : STATUSES.indexOf(controls.status.value);
    var q = norm(controls.q.value.trim());
    visibleFixes = fixOrder(controls.fixSort.value).filter(function (fi) { return sev < 0 || FIXES[fi].sev === sev; });
    var V = visibleFixes.length;
    matching = [];
    tenantOrder(controls.sort.value).forEach(function (ti) {
      var values = filterValues[ti];
      if ((pref && values.pref !== pref) || (ed && values.ed !== ed) || (line && values.line !== line)) { return; }
      if (q && searchText[ti].indexOf(q) < 0) { return; }
      if (status >= 0) {
        var base = ti * F;
        for (var i = 0; i < V; i++) { if (codes[base + visibleFixes[i]] === status) { break; } }
        if (i === V) { return; }
      }
      matching.push(ti);
    });
    if (controls.sort.value === "status") {
      var wanted = status >= 0 ? [status] : LACKING;
      var count = new Map();
      matching.forEach(function (ti) {
        var n = 0;
        for (var i = 0; i < V; i++) { if (wanted.indexOf(codes[ti * F + visibleFixes[i]]) >= 0) { n++; } }
        count.set(ti, n);
      });
      matching.sort(function (a, b) { return count.get(b) - count.get(a); });  // stable: worst first among equals
    }
    $("visible-count").textContent = String(matching.length);
  }

  // Drawing.
  var headKey = null;
  var rowHeight = 22;
  var measured = false;
  var windowStart = 0;
  var windowEnd = 0;
  var drawAll = true;
  var selectedCell = null;   // [tenant, fix]
  var selectedTenant = -1;
  var cellOpen = FIXES.map(function (fix) { return "<td data-fix=\"" + attr(fix.id) + "\""; });
  var statusAttr = STATUSES.map(function (name) { return " data-status=\"" + name + "\""; });
  // A glyph per status, so that a cell reads without its colour (in print, or for the colour-blind).
  var GLYPHS = STATUSES.map(function (name) {
    return { missing: "\u2715", partial: "\u25D0", unverifiable: "?", waived: "W", applied: "\u2713", "not-applicable": "\u2013" }[name] || "";
  });

  function drawHead() {
    var key = visibleFixes.join(",");
    if (key === headKey) { return; }
    headKey = key;
    var html = "<tr><th scope=\"col\" class=\"tenant-head\">" + esc(word("h_tenant")) + "</th>";
    visibleFixes.forEach(function (fi) {
      var fix = FIXES[fi];
      var title = fix.id + (fix.title ? " \u2014 " + fix.title : "") + " (" + word("v_" + SEVERITIES[fix.sev]) + ")";
      html += "<th scope=\"col\" class=\"fix\" data-fix=\"" + attr(fix.id) + "\" data-sev=\"" + fix.sev + "\" title=\"" +
        esc(title) + "\">" + esc(fix.id) + "</th>";
    });
    thead.innerHTML = html + "</tr>";
    // A fixed layout takes the columns' widths from the head, and lays out rows without measuring them; it
    // needs the table's width: the tenant column's (from the style sheet, not from a layout) and the fixes'.
    var tenantWidth = parseFloat(window.getComputedStyle(thead.rows[0].cells[0]).minWidth) || 210;
    table.style.width = (tenantWidth + visibleFixes.length * FIX_WIDTH) + "px";
  }

  function rowHtml(ti) {
    var tenant = TENANTS[ti];
    var base = ti * F;
    var selected = selectedCell && selectedCell[0] === ti ? selectedCell[1] : -1;
    var html = "<tr data-tenant=\"" + attr(tenant.id) + "\"" + (ti === selectedTenant ? " class=\"sel\"" : "") +
      "><td data-role=\"tenant\" tabindex=\"0\"" + (tenant.block ? " class=\"blocks\"" : "") + " title=\"" +
      esc(tenant.id + " " + tenant.name + (tenant.pref ? " (" + tenant.pref + ")" : "")) + "\"><span class=\"code\">" +
      esc(tenant.id) + "</span>" + esc(tenant.name) + "</td>";
    for (var i = 0; i < visibleFixes.length; i++) {
      var fi = visibleFixes[i];
      var code = codes[base + fi];
      var cls = (fi === selected ? "sel" : "") + (changeAt.has(base + fi) ? " chg" : "");
      html += cellOpen[fi] + (code === NONE ? "></td>" : statusAttr[code] + (cls ? " class=\"" + cls.trim() + "\">" : ">") + GLYPHS[code] + "</td>");
    }
    return html + "</tr>";
  }

  function drawRows(start, end) {
    var parts = [];
    for (var r = start; r < end; r++) { parts.push(rowHtml(matching[r])); }
    tbody.innerHTML = parts.join("");
    windowStart = start;
    windowEnd = end;
    table.style.marginTop = (start * rowHeight) + "px";
    table.style.marginBottom = ((matching.length - end) * rowHeight) + "px";
  }

  function drawWindow(force) {
    var n = matching.length;
    if (drawAll) {
      if (force) { drawRows(0, n); }
      return;
    }
    var top = Math.max(0, scroller.scrollTop - thead.offsetHeight);
    // The box may not have its full height yet (it grows with the rows): a window's height is a safe bound.
    var shown = Math.ceil(Math.max(scroller.clientHeight, window.innerHeight) / rowHeight);
    var first = Math.min(Math.floor(top / rowHeight), Math.max(0, n - 1));
    var last = Math.min(n, first + shown);
    if (!force && first >= windowStart && last <= windowEnd) { return; }
    var start = Math.max(0, first - BUFFER);
    drawRows(start, Math.min(n, Math.max(last + BUFFER, start + MIN_ROWS)));
  }

  function measure() {
    var row = tbody.rows[0];
    if (measured || !row) { return; }
    var height = row.getBoundingClientRect().height;
    if (height > 0) {
      measured = true;
      if (Math.abs(height - rowHeight) > 0.25) {
        rowHeight = height;
        if (!drawAll) { drawWindow(true); }
      }
    }
  }

  function render() {
    applyFilters();
    drawHead();
    drawAll = matching.length * Math.max(1, visibleFixes.length) <= FULL_LIMIT;
    scroller.scrollTop = 0;
    windowStart = windowEnd = 0;
    drawWindow(true);
    measure();
  }

  // The filter bar stays on top as the page scrolls: the scroll box and the details fit the rest of the screen.
  function fitToScreen() {
    document.documentElement.style.setProperty("--filters-h", $("filters").offsetHeight + "px");
  }

  var pending = false;
  function schedule() {
    if (pending || drawAll) { return; }
    pending = true;
    window.requestAnimationFrame(function () { pending = false; drawWindow(false); });
  }
  scroller.addEventListener("scroll", schedule, { passive: true });
  window.addEventListener("resize", function () { fitToScreen(); schedule(); });

  ["pref", "ed", "line", "sev", "status", "sort", "fixSort"].forEach(function (key) {
    controls[key].addEventListener("change", render);
  });
  controls.q.addEventListener("input", render);

  // Details: a cell's evidence, a tenant's findings and files.
  function dl(items) {
    return "<dl>" + items.filter(function (item) { return item; }).map(function (item) {
      return "<dt>" + esc(item[0]) + "</dt><dd>" + item[1] + "</dd>";
    }).join("") + "</dl>";
  }
  function badge(name) {
    return "<span class=\"badge\" data-status=\"" + attr(name) + "\">" + esc(statusWord(name)) + "</span>";
  }
  function tenantLink(ti) {
    var tenant = TENANTS[ti];
    return "<button type=\"button\" class=\"link\" data-open-tenant=\"" + attr(tenant.id) + "\">" + esc(tenant.id) + "</button> " + esc(tenant.name);
  }
  function waiverHtml(w, expired) {
    return "<div class=\"waiver" + (expired ? " expired" : "") + "\"><strong>" + esc(expired ? word("waiver_expired") : word("waiver")) +
      "</strong>" + dl([[word("reason"), esc(w.reason)], [word("approved_by"), esc(w.by)], [word("expires"), esc(w.until)],
        [word("policy"), esc((D.scan.policy_source || "") + (w.where ? ": " + w.where : ""))]]) + "</div>";
  }
  function changeText(change) {
    var before = change[3] ? statusWord(change[3]) : "\u2014";
    return esc(word("c_" + KINDS[change[2]])) + " (" + esc(before) + " \u2192 ";
  }
  function show(section) {
    $("details").hidden = false;
    main.classList.add("with-details");
    section.hidden = false;
    var box = section.getBoundingClientRect();
    if (box.top > window.innerHeight || box.bottom < 0) { section.scrollIntoView({ block: "nearest" }); }
  }
  function hide(section) {
    section.hidden = true;
    var marked = section.id === "evidence" ? "td.sel" : "tr.sel";
    Array.prototype.forEach.call(tbody.querySelectorAll(marked), function (el) { el.classList.remove("sel"); });
    if (section.id === "evidence") { selectedCell = null; } else { selectedTenant = -1; }
    if ($("evidence").hidden && $("tenant-detail").hidden) {
      $("details").hidden = true;
      main.classList.remove("with-details");
    }
  }
  function mark(ti, fi) {
    Array.prototype.forEach.call(tbody.querySelectorAll("td.sel"), function (td) { td.classList.remove("sel"); });
    selectedCell = [ti, fi];
    var row = tbody.querySelector("tr[data-tenant=\"" + CSS.escape(TENANTS[ti].id) + "\"]");
    var cell = row && row.querySelector("td[data-fix=\"" + CSS.escape(FIXES[fi].id) + "\"]");
    if (cell) { cell.classList.add("sel"); }
  }

  function openEvidence(ti, fi) {
    var tenant = TENANTS[ti];
    var fix = FIXES[fi];
    var key = ti * F + fi;
    var number = tenant.cells[fi];
    var finding = number >= 0 ? FINDINGS[number] : null;
    var status = codes[key] === NONE ? "" : STATUSES[codes[key]];
    var change = changeAt.get(key);
    var items = [
      [word("h_fix"), "<code>" + esc(fix.id) + "</code>" + (fix.title ? " " + esc(fix.title) : "")],
      [word("h_severity"), esc(word("v_" + SEVERITIES[fix.sev]))],
      [word("h_tenant"), tenantLink(ti)],
      [word("h_status"), status ? badge(status) + (status === "waived" && finding ? " (" + esc(statusWord(STATUSES[finding[1]])) + ")" : "") : "\u2014"],
      [word("h_variant"), finding && finding[2] ? esc(finding[2]) : "\u2014"],
      finding && finding[3] ? [word("reason"), esc(finding[3])] : null,
      change ? [word("change"), changeText(change) + esc(status ? statusWord(STATUSES[finding[1]]) : "") + ")"] : null
    ];
    var html = dl(items);
    if (waiverAt.has(key)) { html += waiverHtml(waiverAt.get(key), false); }
    if (expiredAt.has(key)) { html += waiverHtml(expiredAt.get(key), true); }
    if (finding && finding[4].length) {
      html += "<table class=\"plain evidence\"><thead><tr><th>" + esc(word("path")) + "</th><th>" + esc(word("state")) + "</th><th>" +
        esc(word("found")) + "</th><th>" + esc(word("expected")) + "</th></tr></thead><tbody>";
      // entry: [path, state, found, expected index, found_at, note] (drift/report/model.py)
      finding[4].forEach(function (entry) {
        var config = entry[0].indexOf("#") >= 0;
        var expected = D.expected[entry[3]] || [];
        html += "<tr data-path=\"" + attr(entry[0]) + "\" data-state=\"" + attr(entry[1]) + "\"><td class=\"hash\">" + esc(entry[0]) +
          (config ? " <em>(" + esc(word("config_check")) + ")</em>" : "") + "</td><td>" + esc(word("e_" + entry[1], entry[1])) +
          "</td><td class=\"hash\">" + (entry[2] === null ? "\u2014" : esc(entry[2])) + noteHtml(entry) + "</td><td class=\"hash\">" +
          expected.map(esc).join("<br>") + "</td></tr>";
      });
      html += "</tbody></table>";
    }
    if ($("tenant-detail").getAttribute("data-tenant-id") !== tenant.id) { hide($("tenant-detail")); }
    var section = $("evidence");
    section.setAttribute("data-tenant-id", tenant.id);
    section.setAttribute("data-fix-id", fix.id);
    section.querySelector(".panel-body").innerHTML = html;
    mark(ti, fi);
    show(section);
  }

  // What an evidence entry says beside its found hash: its note, and where the hash was found when that is not
  // its path (drift/formats/evidence.py `evidence_note`, in the page's words).
  function noteHtml(entry) {
    var at = entry[4];
    var note = entry[5] || "";
    var parts = note ? [esc(note)] : [];
    if (at !== null && at !== undefined && note.indexOf(at) < 0) { parts.push(esc(word("found_at")) + " " + esc(at)); }
    return parts.length ? "<div class=\"note\"><em>" + parts.join("; ") + "</em></div>" : "";
  }

  function filesList(title, files) {
    return "<h3>" + esc(title) + " (" + files.length + ")</h3>" + (files.length
      ? "<ul class=\"files\">" + files.map(function (path) { return "<li>" + esc(path) + "</li>"; }).join("") + "</ul>"
      : "<p>" + esc(word("none")) + "</p>");
  }

  function openTenant(ti) {
    var tenant = TENANTS[ti];
    var base = ti * F;
    var counts = STATUSES.map(function () { return 0; });
    var order = [];
    for (var fi = 0; fi < F; fi++) {
      if (codes[base + fi] !== NONE) { counts[codes[base + fi]]++; order.push(fi); }
    }
    order.sort(function (a, b) { return codes[base + a] - codes[base + b] || a - b; });
    var html = dl([
      [word("h_tenant"), "<code>" + esc(tenant.id) + "</code>"],
      [word("h_name"), esc(tenant.name)],
      [word("h_prefecture"), esc(tenant.pref || "\u2014")],
      [word("edition"), esc(tenant.ed || "\u2014")],
      [word("line"), esc(tenant.line || "\u2014")],
      [word("modules"), esc(tenant.modules.join(", ") || "\u2014")],
      [word("h_inventory_digest"), tenant.inv ? "<code>" + esc(tenant.inv) + "</code>" : esc(statusWord("unverifiable"))],
      [word("h_collected_at"), esc(tenant.at || "\u2014")],
      [word("h_signature"), esc(tenant.sig || "\u2014")],
      tenant.reasons.length ? [word("blocks_because"), tenant.reasons.map(esc).join("<br>")] : null,
      [word("h_status"), STATUSES.map(function (name, code) { return counts[code] ? badge(name) + " " + counts[code] : ""; }).filter(Boolean).join(" ")]
    ]);
    html += "<h3>" + esc(word("findings")) + " (" + order.length + ")</h3><table class=\"plain\"><thead><tr><th>" + esc(word("h_fix")) +
      "</th><th>" + esc(word("h_severity")) + "</th><th>" + esc(word("h_status")) + "</th><th>" + esc(word("h_variant")) + "</th><th>" +
      esc(word("change")) + "</th></tr></thead><tbody>";
    order.forEach(function (fi) {
      var finding = FINDINGS[tenant.cells[fi]];
      var change = changeAt.get(base + fi);
      html += "<tr class=\"finding\" data-fix=\"" + attr(FIXES[fi].id) + "\"><td><code>" + esc(FIXES[fi].id) + "</code></td><td>" +
        esc(word("v_" + SEVERITIES[FIXES[fi].sev])) + "</td><td>" + badge(STATUSES[codes[base + fi]]) + "</td><td>" +
        esc(finding[2] || "\u2014") + "</td><td>" + (change ? changeText(change) + esc(statusWord(STATUSES[finding[1]])) + ")" : "") + "</td></tr>";
    });
    html += "</tbody></table>";
    html += filesList(word("uncatalogued_files"), tenant.unc);
    html += filesList(word("modified_files"), tenant.mod);
    html += "<h3>" + esc(word("releases")) + " (" + tenant.rel.length + ")</h3>";
    html += tenant.rel.length ? "<table class=\"plain releases\"><thead><tr><th>" + esc(word("releases")) + "</th><th>" + esc(word("file_count")) +
      "</th></tr></thead><tbody>" + tenant.rel.map(function (r) {
        return "<tr><td>" + esc(r[0]) + "</td><td class=\"n\">" + r[1] + "</td></tr>";
      }).join("") + "</tbody></table>" : "<p>" + esc(word("none")) + "</p>";
    if ($("evidence").getAttribute("data-tenant-id") !== tenant.id) { hide($("evidence")); }
    var section = $("tenant-detail");
    section.setAttribute("data-tenant-id", tenant.id);
    section.querySelector(".panel-body").innerHTML = html;
    selectedTenant = ti;
    Array.prototype.forEach.call(tbody.querySelectorAll("tr.sel"), function (tr) { tr.classList.remove("sel"); });
    var row = tbody.querySelector("tr[data-tenant=\"" + CSS.escape(tenant.id) + "\"]");
    if (row) { row.classList.add("sel"); }
    show(section);
  }

  tbody.addEventListener("click", function (event) {
    var td = event.target.closest("td");
    if (!td || !tbody.contains(td)) { return; }
    var ti = tenantById.get(td.parentNode.getAttribute("data-tenant"));
    if (ti === undefined) { return; }
    if (td.getAttribute("data-role") === "tenant") {
      openTenant(ti);
    } else if (td.hasAttribute("data-fix")) {
      openEvidence(ti, fixById.get(td.getAttribute("data-fix")));
    }
  });
  tbody.addEventListener("keydown", function (event) {
    var td = event.target;
    if ((event.key === "Enter" || event.key === " ") && td.getAttribute && td.getAttribute("data-role") === "tenant") {
      event.preventDefault();
      openTenant(tenantById.get(td.parentNode.getAttribute("data-tenant")));
    }
  });
  tbody.addEventListener("mouseover", function (event) {
    var td = event.target.closest("td[data-fix]");
    if (td && !td.title) {
      var status = td.getAttribute("data-status");
      td.title = td.getAttribute("data-fix") + (status ? ": " + statusWord(status) : "");
    }
  });
  document.addEventListener("click", function (event) {
    var target = event.target.closest("[data-open-tenant], [data-close], tr.finding");
    if (!target || tbody.contains(target)) { return; }
    if (target.hasAttribute("data-close")) {
      hide($(target.getAttribute("data-close")));
      return;
    }
    if (target.matches("tr.finding")) {
      var owner = tenantById.get($("tenant-detail").getAttribute("data-tenant-id"));
      if (owner !== undefined) { openEvidence(owner, fixById.get(target.getAttribute("data-fix"))); }
      return;
    }
    var ti = tenantById.get(target.getAttribute("data-open-tenant"));
    if (ti === undefined) { return; }
    openTenant(ti);
    var fi = fixById.get(target.getAttribute("data-open-fix") || "");
    if (fi !== undefined) { openEvidence(ti, fi); }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { hide($("evidence")); hide($("tenant-detail")); }
  });

  // Printing: every matching row when that stays printable, else the first ones; a note says what was left out.
  window.addEventListener("beforeprint", function () {
    var limit = Math.max(1, Math.floor(PRINT_LIMIT / Math.max(1, visibleFixes.length)));
    var shown = Math.min(matching.length, limit);
    drawRows(0, shown);
    table.style.marginTop = table.style.marginBottom = "0px";
    var notes = [];
    if (shown < matching.length) { notes.push(word("print_partial").replace("{shown}", shown).replace("{total}", matching.length)); }
    if (visibleFixes.length > PRINT_FIXES) { notes.push(word("print_wide").replace("{fixes}", visibleFixes.length)); }
    var note = $("print-note");
    note.hidden = notes.length === 0;
    note.textContent = notes.join(" ");
  });
  window.addEventListener("afterprint", function () {
    $("print-note").hidden = true;
    drawWindow(true);
  });

  fitToScreen();
  render();
}());
