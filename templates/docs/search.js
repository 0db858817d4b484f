// Search over the inline index: every word of the query must occur in an entry.
// The query comes from the box, or from `#q=...` / `?q=...` in the address, so a search can be linked.
(function () {
  "use strict";
  const entries = JSON.parse(document.getElementById("search-data").textContent);
  const haystacks = entries.map(function (e) {
    return [e.kind, e.name, e.detail, e.topics.join(" ")].join(" ").toLowerCase();
  });
  const input = document.getElementById("q");
  const section = document.getElementById("search-results");
  const summary = document.getElementById("results-summary");
  const list = document.getElementById("results");
  const topicRows = Array.from(document.querySelectorAll("tr[data-topic]"));
  const browse = Array.from(document.querySelectorAll("[data-browse]"));
  const LIMIT = 200;

  function rank(entry, phrase) {
    const name = entry.name.toLowerCase();
    if (name === phrase) return 0;
    if (name.startsWith(phrase)) return 1;
    if (name.includes(phrase)) return 2;
    return 3;
  }

  function search(query) {
    const words = query.toLowerCase().split(/\s+/).filter(Boolean);
    if (words.length === 0) return null;
    const phrase = words.join(" ");
    const hits = [];
    entries.forEach(function (entry, index) {
      const text = haystacks[index];
      if (words.every(function (w) { return text.includes(w); })) {
        hits.push({ entry: entry, rank: rank(entry, phrase), index: index });
      }
    });
    hits.sort(function (a, b) { return a.rank - b.rank || a.index - b.index; });
    return hits;
  }

  function item(entry) {
    const li = document.createElement("li");
    li.setAttribute("data-kind", entry.kind);
    li.setAttribute("data-topics", entry.topics.join(" "));
    const tag = document.createElement("span");
    tag.className = "tag";
    tag.textContent = entry.kind;
    const body = document.createElement("div");
    const link = document.createElement("a");
    link.href = entry.href;
    link.textContent = entry.name;
    const detail = document.createElement("span");
    detail.className = "detail";
    detail.textContent = entry.detail;
    body.append(link, detail);
    if (entry.kind !== "topic" && entry.topics.length) {
      const via = document.createElement("div");
      via.className = "via";
      via.textContent = "topic" + (entry.topics.length === 1 ? ": " : "s: ") + entry.topics.join(", ");
      body.appendChild(via);
    }
    li.append(tag, body);
    return li;
  }

  function show(query) {
    const hits = search(query);
    list.textContent = "";
    if (hits === null) {
      section.hidden = true;
      topicRows.forEach(function (row) { row.hidden = false; });
      browse.forEach(function (part) { part.hidden = false; });
      return;
    }
    const topics = new Set();
    hits.forEach(function (hit) { hit.entry.topics.forEach(function (t) { topics.add(t); }); });
    topicRows.forEach(function (row) { row.hidden = !topics.has(row.getAttribute("data-topic")); });
    browse.forEach(function (part) { part.hidden = true; });
    section.hidden = false;
    const count = hits.length === 1 ? "1 match" : hits.length + " matches";
    summary.textContent = count + " for \u201c" + query.trim() + "\u201d" + (hits.length > LIMIT ? ", first " + LIMIT + " shown" : "");
    hits.slice(0, LIMIT).forEach(function (hit) { list.appendChild(item(hit.entry)); });
  }

  function queryFromAddress() {
    const hash = location.hash.replace(/^#/, "");
    const params = new URLSearchParams(hash.startsWith("q=") ? hash : location.search.replace(/^\?/, ""));
    return params.get("q") || "";
  }

  function remember(query) {
    try {
      history.replaceState(null, "", query ? "#q=" + encodeURIComponent(query) : location.pathname);
    } catch (ignored) {
      // some browsers refuse history changes on file:// pages; the search still works
    }
  }

  input.value = queryFromAddress();
  show(input.value);
  input.addEventListener("input", function () { show(input.value); remember(input.value); });
  window.addEventListener("hashchange", function () { input.value = queryFromAddress(); show(input.value); });
  input.form.addEventListener("submit", function (event) {
    event.preventDefault();
    const first = list.querySelector("a");
    if (first) location.href = first.href;
  });
})();
