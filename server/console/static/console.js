// Dengji console: small progressive enhancement. Every page works without
// it (plain forms); with it, decisions are sent by fetch with the CSRF
// header and take effect without reloading, queues are worked from the
// keyboard, and imports and the duplicate check show live progress.
"use strict";
(function () {
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var en = document.documentElement.lang === "en";
  function say(msg, bad) {
    var t = document.getElementById("toast");
    if (!t) return;
    t.textContent = msg;
    t.className = bad ? "show bad" : "show";
    clearTimeout(say.timer);
    say.timer = setTimeout(function () { t.className = ""; }, 4000);
  }
  function post(url, body) {
    return fetch(url, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf, "Accept": "application/json" }
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (!r.ok) throw new Error((j.error && j.error.message) || r.statusText);
        return j;
      });
    });
  }
  window.dengjiPost = post;

  // Forms marked data-fetch are sent by fetch; the page then reloads its
  // own state in place (a queue row is marked done).
  document.addEventListener("submit", function (e) {
    var f = e.target;
    if (!f.hasAttribute("data-fetch")) return;
    e.preventDefault();
    if (f.dataset.confirm && !window.confirm(f.dataset.confirm)) return;
    var body = new FormData(f);
    if (e.submitter && e.submitter.name) body.set(e.submitter.name, e.submitter.value);
    post(f.action, body).then(function () {
      say(en ? "Saved" : "已保存");
      var row = f.closest("tr");
      if (row && row.classList.contains("row")) { row.classList.add("done"); return; }
      // A decision page: show its new state.
      setTimeout(function () { location.reload(); }, 300);
    }, function (err) { say(err.message, true); });
  });

  // Queue rows: decide from the list (kept or other) without reloading.
  document.addEventListener("click", function (e) {
    var b = e.target.closest("button[data-choice]");
    if (!b) return;
    var row = b.closest("tr");
    decide(row, b.dataset.choice);
  });
  function decide(row, choice) {
    if (!row || !row.dataset.resolve || row.dataset.status !== "open") return;
    var body = new FormData();
    body.set("choice", choice);
    post(row.dataset.resolve, body).then(function () {
      row.dataset.status = "resolved";
      row.classList.add("done");
      var cell = row.querySelector(".actions");
      if (cell) cell.textContent = (en ? "resolved: " : "已处理：") + choice;
      say(en ? "Resolved" : "已处理");
      move(1);
    }, function (err) { say(err.message, true); });
  }

  // Keyboard: j/k move, Enter opens, 1/2 keep/other, h history, n next
  // page; on a duplicate case c confirms and x rejects.
  var rows = Array.prototype.slice.call(document.querySelectorAll("#queue tr.row"));
  var cur = -1;
  function move(d) {
    if (!rows.length) return;
    if (cur >= 0) rows[cur].classList.remove("sel");
    cur = Math.max(0, Math.min(rows.length - 1, cur + d));
    rows[cur].classList.add("sel");
    rows[cur].scrollIntoView({ block: "nearest" });
  }
  document.addEventListener("keydown", function (e) {
    var tag = (e.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select" || e.ctrlKey || e.metaKey || e.altKey) return;
    var row = rows[cur];
    switch (e.key) {
      case "j": move(1); break;
      case "k": move(-1); break;
      case "Enter": if (row && row.dataset.href) location.href = row.dataset.href; break;
      case "1": decide(row, "kept"); break;
      case "2": decide(row, "other"); break;
      case "h": if (row && row.dataset.history) location.href = row.dataset.history; break;
      case "n": var n = document.getElementById("next-page"); if (n) location.href = n.href; break;
      case "c": var c = document.getElementById("confirm"); if (c) c.click(); break;
      case "x": var x = document.getElementById("reject"); if (x) x.click(); break;
      default: return;
    }
    e.preventDefault();
  });

  // Import with a live progress bar and the report to download.
  var imp = document.getElementById("import");
  if (imp) imp.addEventListener("submit", function (e) {
    e.preventDefault();
    var box = document.getElementById("import-progress");
    box.hidden = false;
    post(imp.action, new FormData(imp)).then(function (j) { watchImport(j.id); },
      function (err) { say(err.message, true); });
  });
  function watchImport(id) {
    var url = "/console/roll/import/" + encodeURIComponent(id);
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.json(); }).then(function (s) {
        document.getElementById("import-bar").value = s.done ? 1 : s.fraction;
        document.getElementById("import-rows").textContent = s.rows;
        if (!s.done) { setTimeout(function () { watchImport(id); }, 300); return; }
        var res = document.getElementById("import-result");
        if (s.error) { res.textContent = s.error.message; res.className = "error"; }
        else {
          var r = s.report;
          res.textContent = (en ? "read " : "读取 ") + r.read + (en ? ", imported " : "，导入 ") + r.imported +
            (en ? " (to verify " : "（待核实 ") + r.needs_verification + (en ? "), unchanged " : "），未变 ") + r.unchanged +
            (en ? ", rejected " : "，有误 ") + r.rejected;
          res.id = "import-done";
        }
        var a = document.getElementById("import-report");
        a.href = url + "/report";
        a.hidden = false;
      });
  }

  // The duplicate check's live progress.
  var dp = document.getElementById("dedup-progress");
  if (dp) (function poll() {
    fetch(dp.dataset.status, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.json(); }).then(function (s) {
        document.getElementById("dedup-bar").value = s.running ? (s.total ? s.done / s.total : 0) : (s.last ? 1 : 0);
        document.getElementById("dedup-phase").textContent = s.running ? s.phase + " " + (s.done || 0) + "/" + (s.total || "?") :
          (en ? "not running" : "未运行");
        setTimeout(poll, s.running ? 500 : 3000);
      });
  })();
})();
