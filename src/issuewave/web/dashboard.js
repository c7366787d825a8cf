"use strict";
// Keeps a dashboard page live from server-sent events. Text from issues and agents is only ever
// set with textContent; innerHTML takes only the server's own escaped fragments.
(function () {
  const cfg = ISSUEWAVE;
  const dot = document.getElementById("live-dot");
  let shape = null;
  let offset = 0; // server clock minus this browser's clock, in seconds
  let snapshot = null;

  function clock(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    const mm = h ? String(m).padStart(2, "0") : String(m);
    return (h ? h + ":" : "") + mm + ":" + String(r).padStart(2, "0");
  }

  function setText(el, text) {
    if (el && el.textContent !== text) el.textContent = text;
  }

  function now() {
    return Date.now() / 1000 + offset;
  }

  function cell(row, name) {
    return row.querySelector("td." + name);
  }

  function applyIssue(issue) {
    const row = document.getElementById("issue-" + issue.number);
    if (row) {
      row.className = "state-" + issue.state;
      setText(cell(row, "state"), issue.state);
      setText(cell(row, "attempt"), issue.attempt ? String(issue.attempt) : "");
      setText(cell(row, "agent"), issue.agent || "");
      setText(cell(row, "tokens"), issue.tokens ? issue.tokens.toLocaleString("en") : "");
      setText(cell(row, "cost"), issue.cost_usd === null ? "" : "$" + issue.cost_usd.toFixed(2));
      setText(cell(row, "last"), issue.last_line);
    }
    const node = document.querySelector('#graph g.node[data-issue="' + issue.number + '"]');
    if (node && node.getAttribute("data-status") !== issue.state) {
      node.setAttribute("data-status", issue.state);
      const rect = node.querySelector("rect");
      if (rect) rect.setAttribute("fill", cfg.colours[issue.state] || "#bdc3c7");
    }
    if (cfg.issue === issue.number) {
      const before = document.getElementById("issue-state");
      if (before && before.textContent !== issue.state && shape !== null) refreshIssue();
      setText(before, issue.state);
      if (cfg.latest && cfg.attempt !== null && issue.attempt > cfg.attempt) location.reload();
      if (cfg.latest && cfg.attempt === null && issue.attempt > 0) location.reload();
    }
  }

  function tick() {
    if (!snapshot) return;
    const t = now();
    const end = snapshot.finished_at === null ? t : snapshot.finished_at;
    setText(document.getElementById("run-elapsed"), clock(end - snapshot.started_at));
    for (const issue of snapshot.issues) {
      const row = document.getElementById("issue-" + issue.number);
      if (!row || issue.started_at === null) continue;
      const stop = issue.finished_at === null ? t : issue.finished_at;
      setText(cell(row, "elapsed"), clock(stop - issue.started_at));
    }
  }

  // The overview's graph, timeline and figures, as the server draws them now.
  function refreshParts() {
    if (!document.getElementById("gantt")) return;
    fetch(cfg.run + "/fragments", { credentials: "same-origin" })
      .then((r) => (r.ok ? r.json() : Promise.reject(r.status)))
      .then((parts) => {
        for (const name of Object.keys(parts)) {
          const el = document.getElementById(name);
          if (el) el.innerHTML = parts[name];
        }
        // The graph comes back with the store's states; the snapshot may be a moment newer.
        if (snapshot) snapshot.issues.forEach(applyIssue);
      })
      .catch(() => {});
  }

  // The issue page's facts (attempts, pull request, diff) as the server renders them now.
  function refreshIssue() {
    fetch(location.href, { credentials: "same-origin" })
      .then((r) => (r.ok ? r.text() : Promise.reject(r.status)))
      .then((html) => {
        const fresh = new DOMParser().parseFromString(html, "text/html");
        for (const id of ["issue-facts", "diff-stat"]) {
          const mine = document.getElementById(id), theirs = fresh.getElementById(id);
          if (mine && theirs) mine.replaceWith(document.adoptNode(theirs));
        }
      })
      .catch(() => {});
  }

  function applyRun(data) {
    snapshot = data;
    offset = data.server_now - Date.now() / 1000;
    setText(document.getElementById("run-status"), data.status);
    for (const key of Object.keys(data.counts)) {
      setText(document.getElementById("count-" + key), String(data.counts[key]));
    }
    data.issues.forEach(applyIssue);
    const current = data.issues.map((i) => i.number + ":" + i.state + ":" + i.attempt).join(",");
    if (shape !== null && current !== shape) refreshParts();
    shape = current;
    tick();
  }

  const runEvents = new EventSource(cfg.run + "/events");
  runEvents.addEventListener("snapshot", (e) => applyRun(JSON.parse(e.data)));
  runEvents.onopen = () => dot && dot.classList.add("on");
  runEvents.onerror = () => dot && dot.classList.remove("on");
  setInterval(tick, 1000);

  if (cfg.issue !== null && cfg.attempt !== null) {
    const url = cfg.run + "/issues/" + cfg.issue + "/attempts/" + cfg.attempt + "/output";
    const output = new EventSource(url);
    for (const name of ["out", "err", "tests"]) {
      output.addEventListener(name, (e) => {
        const pre = document.querySelector('pre[data-stream="' + name + '"]');
        if (!pre) return;
        const follow = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
        pre.appendChild(document.createTextNode(JSON.parse(e.data)));
        // A runaway agent must not take the browser down: keep the latest couple of megabytes.
        while (pre.childNodes.length > 1 && pre.textContent.length > 2000000) {
          pre.removeChild(pre.firstChild);
        }
        if (follow) pre.scrollTop = pre.scrollHeight;
      });
    }
    output.addEventListener("end", () => output.close());
  }
})();
