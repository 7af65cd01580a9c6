// The review page of `ganpage serve --review`: decisions by click or key, sent as JSON POSTs
// with the CSRF token from the page's <meta>; the login page's token comes from the URL
// fragment (never sent to the server by the browser, so never in a log). No inline script:
// the site's CSP allows only files like this one.
"use strict";

(function () {
  const login = document.getElementById("login-form");
  if (login) {
    const token = new URLSearchParams(location.hash.slice(1)).get("token");
    if (token) {
      history.replaceState(null, "", location.pathname);  // the token leaves the address bar
      login.elements.token.value = token;
      login.submit();
    }
    return;
  }
  const review = document.getElementById("review");
  if (!review) return;

  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const message = document.getElementById("review-message");
  const undoStack = [];  // ids changed on this page, newest last
  const keys = {
    a: () => decide(current(), "approved"), r: () => decide(current(), "rejected"),
    u: () => undo(), z: () => undo(),
    ArrowRight: () => move(1), l: () => move(1), ArrowLeft: () => move(-1), h: () => move(-1),
    ArrowDown: () => moveRow(1), j: () => moveRow(1), ArrowUp: () => moveRow(-1), k: () => moveRow(-1),
  };

  function cards() { return Array.from(review.querySelectorAll(".review-card")); }
  function current() {
    const active = document.activeElement && document.activeElement.closest(".review-card");
    return active || cards()[0] || null;
  }
  function focus(card) {
    if (!card) return;
    card.focus({ preventScroll: true });
    card.scrollIntoView({ block: "nearest" });
  }
  function move(step) {
    const all = cards(), at = all.indexOf(current());
    focus(all[Math.min(Math.max(at + step, 0), all.length - 1)]);
  }
  function moveRow(step) {  // the nearest card in the row below (or above)
    const card = current();
    if (!card) return;
    const here = card.getBoundingClientRect(), middle = here.left + here.width / 2;
    let best = null, bestKey = null;
    for (const other of cards()) {
      const box = other.getBoundingClientRect();
      const gap = step > 0 ? box.top - here.bottom : here.top - box.bottom;
      if (gap < -1) continue;
      const key = [Math.round(gap), Math.abs(box.left + box.width / 2 - middle)];
      if (!bestKey || key[0] < bestKey[0] || (key[0] === bestKey[0] && key[1] < bestKey[1])) {
        best = other; bestKey = key;
      }
    }
    focus(best || card);
  }

  async function post(path, body) {
    const response = await fetch(path, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body),
    });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(answer.detail || response.statusText);
    return answer;
  }
  function show(picture) {
    const card = document.getElementById("p-" + picture.id);
    if (!card) return;
    card.className = card.className.replace(/\bstatus-\S+/, "status-" + picture.status);
    card.dataset.status = picture.status;
    card.querySelector(".state").textContent = picture.status;
    card.querySelector(".decided-by").textContent = picture.decided_by || "";
  }
  async function decide(card, status) {
    if (!card) return;
    try {
      const answer = await post("/review/api/decide", { ids: [card.dataset.id], status });
      answer.changed.forEach(show);
      undoStack.push(card.dataset.id);
      message.textContent = status + " " + card.dataset.id;
      move(1);
    } catch (error) { message.textContent = "not saved: " + error.message; }
  }
  async function undo() {
    const id = undoStack.pop();
    if (!id) { message.textContent = "nothing to undo"; return; }
    try {
      const answer = await post("/review/api/undo", { ids: [id] });
      answer.changed.forEach(show);
      message.textContent = "undone " + id;
      focus(document.getElementById("p-" + id));
    } catch (error) { undoStack.push(id); message.textContent = "not undone: " + error.message; }
  }

  review.addEventListener("submit", (event) => {  // the buttons, without a page load
    const form = event.target;
    if (!form.classList.contains("review-actions") || !event.submitter) return;
    event.preventDefault();
    const card = form.closest(".review-card");
    if (event.submitter.value === "undo") { undo(); return; }
    focus(card);
    decide(card, event.submitter.value);
  });
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.closest("input, select, textarea")) return;
    const action = keys[event.key];
    if (!action) return;
    event.preventDefault();
    action();
  });
  const target = location.hash.startsWith("#p-") && document.getElementById(location.hash.slice(1));
  focus(target || cards()[0]);
})();
