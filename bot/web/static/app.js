/* chatcaddy dashboard: keyboard, live counter, the queue's own refresh, hand-off tabs, local times.
 * No inline script anywhere (the Content-Security-Policy forbids it): everything the pages do is here.
 */
(function () {
  "use strict";

  var body = document.body;
  var pollMs = parseInt(body.dataset.pollMs || "2000", 10);
  var csrf = body.dataset.csrf || "";
  var baseTitle = document.title.replace(/^\(\d+\)\s*/, "");
  var serverOffset = 0; // the server's clock minus this browser's, so countdowns follow the server
  var selectedId = null;
  var knownPending = null;
  var refreshWanted = false;
  var intentTab = null;
  var actionsInFlight = 0; // approve/edit/reject/regenerate requests not yet answered
  var actionSeq = 0; // bumped at every action, so a refresh rendered before one is known to be stale
  var refreshSeq = -1; // actionSeq when the queue refresh in flight was asked for

  function $(selector, root) { return (root || document).querySelector(selector); }
  function $all(selector, root) { return Array.prototype.slice.call((root || document).querySelectorAll(selector)); }
  function queue() { return document.getElementById("queue"); }

  /* ---- times ------------------------------------------------------------------------------------- */

  function syncClock(el) {
    var stamp = el && el.dataset.serverNow;
    if (stamp) serverOffset = Date.parse(stamp) - Date.now();
  }

  function relative(ms) {
    var s = Math.round(Math.abs(ms) / 1000);
    var amount = s < 60 ? s + " s" : s < 5400 ? Math.floor(s / 60) + " min" : Math.round(s / 3600) + " h";
    return ms >= 0 ? "in " + amount : amount + " ago";
  }

  function tickTimes() {
    var now = Date.now() + serverOffset;
    $all("time.rel").forEach(function (t) {
      var at = Date.parse(t.getAttribute("datetime"));
      if (!isNaN(at)) t.textContent = relative(at - now);
    });
  }

  var localFormat = new Intl.DateTimeFormat(undefined, {
    weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", timeZoneName: "short"
  });

  var hourFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });

  function localTimes(root) {
    $all("time.local", root).forEach(function (t) {
      var at = new Date(t.getAttribute("datetime"));
      if (isNaN(at.getTime())) return;
      t.textContent = (t.classList.contains("hm") ? hourFormat : localFormat).format(at);
    });
  }

  /* ---- the live character counter (counter.js counts as the server does) ------------------------- */

  function updateCounter(textarea) {
    var form = textarea.closest("form");
    var out = form && $(".counter", form);
    if (!out || !window.chatcaddyWeightedLength) return;
    var n = window.chatcaddyWeightedLength(textarea.value);
    var limit = parseInt(textarea.dataset.limit || "280", 10);
    out.textContent = n + "/" + limit;
    out.classList.toggle("over", n > limit);
  }

  document.addEventListener("input", function (e) {
    if (e.target.matches && e.target.matches("textarea[data-limit]")) updateCounter(e.target);
  });

  /* ---- selection and keyboard -------------------------------------------------------------------- */

  function cards() { return $all("#queue article.draft"); }
  function current() { return selectedId && document.getElementById("draft-" + selectedId); }

  function select(card, scroll) {
    cards().forEach(function (c) { c.classList.remove("selected"); });
    if (!card) { selectedId = null; return; }
    card.classList.add("selected");
    selectedId = card.dataset.id;
    if (!card.contains(document.activeElement)) card.focus({ preventScroll: true });
    if (scroll) card.scrollIntoView({ block: "nearest" });
  }

  function firstActionable() {
    return cards().filter(function (c) { return c.classList.contains("actionable"); })[0] || null;
  }

  function move(step) {
    var all = cards();
    if (!all.length) return;
    var at = all.indexOf(current());
    var next = at < 0 ? (step > 0 ? 0 : all.length - 1) : Math.min(all.length - 1, Math.max(0, at + step));
    select(all[next], true);
  }

  function openForm(card, which) {
    if (!card || !card.classList.contains("actionable")) return;
    closeForms(card);
    var form = $("." + which + "-form", card);
    if (!form) return;
    form.hidden = false;
    card.classList.add(which === "edit" ? "editing" : "rejecting");
    var field = $("textarea, input[name=reason]", form);
    if (field) {
      field.focus();
      if (field.tagName === "TEXTAREA") {
        field.setSelectionRange(field.value.length, field.value.length);
        updateCounter(field);
      }
    }
  }

  function closeForms(card) {
    $all("form.edit-form, form.reject-form", card).forEach(function (f) {
      // Hiding a focused field does not move the focus at once: the next key would still go to it.
      if (f.contains(document.activeElement)) document.activeElement.blur();
      f.hidden = true;
    });
    card.classList.remove("editing", "rejecting");
    refreshIfWanted();
  }

  /* A refresh held back (a form open, an action in flight) goes out once nothing holds it. */
  function refreshIfWanted() {
    if (refreshWanted && actionsInFlight === 0 && !anyFormOpen()) refresh();
  }

  function anyFormOpen() {
    return $all("#queue form.edit-form, #queue form.reject-form").some(function (f) { return !f.hidden; });
  }

  function approve(card) {
    if (!card || !card.classList.contains("actionable")) return;
    var editForm = $("form.edit-form", card);
    if (editForm && !editForm.hidden) editForm.requestSubmit();
    else { var button = $("button.approve", card); if (button) button.click(); }
  }

  document.addEventListener("keydown", function (e) {
    var card = current();
    var typing = e.target.closest && e.target.closest("input, textarea, select");
    if ((e.ctrlKey || e.metaKey) && e.key === "Enter" && typing && e.target.closest("form.edit-form")) {
      e.preventDefault();
      e.target.closest("form").requestSubmit();
      return;
    }
    if (e.key === "Escape") {
      var open = (e.target.closest && e.target.closest("article.draft")) || card;
      if (open) { closeForms(open); select(open, false); }
      return;
    }
    if (typing || e.ctrlKey || e.metaKey || e.altKey || !queue()) return;
    var actions = {
      j: function () { move(1); },
      k: function () { move(-1); },
      a: function () { approve(card); },
      e: function () { openForm(card, "edit"); },
      r: function () { openForm(card, "reject"); }
    };
    if (!actions[e.key]) return;
    e.preventDefault();
    actions[e.key]();
  });

  document.addEventListener("click", function (e) {
    var opener = e.target.closest("[data-open]");
    var closer = e.target.closest("[data-close]");
    var card = e.target.closest("article.draft");
    if (card && card.id !== "draft-" + selectedId) select(card, false);
    if (opener) openForm(card, opener.dataset.open);
    if (closer) closeForms(card);
  });

  /* ---- hand-off: open X's composer in a tab the moment the person approves ------------------------ */

  document.addEventListener("htmx:beforeRequest", function (e) {
    var elt = e.detail.elt;
    if (elt.hasAttribute("data-handoff") && /\/approve$/.test(e.detail.requestConfig.path)) {
      intentTab = window.open("", "_blank"); // now, while the click still counts: no popup blocker
      if (intentTab) intentTab.document.title = "Opening X…";
    }
  });

  document.addEventListener("htmx:afterRequest", function (e) {
    if (!intentTab) return;
    var url = e.detail.xhr && e.detail.xhr.getResponseHeader("X-Intent-Url");
    if (url && e.detail.successful && /^https:\/\/x\.com\/intent\//.test(url)) {
      intentTab.opener = null;
      intentTab.location.replace(url);
    } else {
      intentTab.close();
    }
    intentTab = null;
  });

  /* ---- the queue refreshes itself ---------------------------------------------------------------- */

  function stateEl() { return $("#queue .queue-state"); }

  function shownIds() {
    return cards().filter(function (c) { return c.classList.contains("actionable"); })
      .map(function (c) { return c.dataset.id; });
  }

  function refresh() {
    refreshWanted = false;
    htmx.trigger(queue(), "chatcaddy:refresh");
  }

  function showPending(n) {
    document.title = (n ? "(" + n + ") " : "") + baseTitle;
    var count = document.getElementById("pending-count");
    if (count) count.textContent = n ? " " + n : "";
    if (knownPending !== null && n > knownPending) chime();
    knownPending = n;
  }

  function poll() {
    var visible = document.visibilityState === "visible";
    var url = "/api/queue/state" + (visible ? "?seen=" + shownIds().join(",") : "");
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json", "X-CSRF-Token": csrf } })
      .then(function (r) {
        if (r.status === 401) { window.location.href = "/login"; return null; }
        return r.ok ? r.json() : null;
      })
      .then(function (state) {
        if (!state) return;
        showTrouble(state.x_trouble);
        var el = stateEl();
        if (el && state.version !== el.dataset.version) {
          if (anyFormOpen()) refreshWanted = true; else refresh();
        } else {
          showPending(state.pending);
        }
      })
      .catch(function () { /* offline for a moment: the next poll tries again */ })
      .then(function () { window.setTimeout(poll, pollMs); });
  }

  /* X's trouble: the banner every page carries, shown while X fails and hidden once it answers again. */
  function showTrouble(trouble) {
    var banner = document.getElementById("x-trouble");
    if (!banner) return;
    banner.hidden = !trouble;
    if (!trouble) return;
    $(".message", banner).textContent = trouble.message;
    var since = $(".since", banner);
    since.hidden = !trouble.since;
    if (trouble.since) {
      $("time", since).setAttribute("datetime", trouble.since);
      localTimes(banner);
    }
  }

  /* A card action and a queue refresh can cross: the refresh, rendered before the action, would swap
   * the action's answer away and show the draft still waiting. Count actions in flight and drop any
   * refresh that started before the latest one; ask again once the actions are answered. */
  document.addEventListener("htmx:beforeRequest", function (e) {
    var elt = e.detail.elt;
    if (elt === queue()) refreshSeq = actionSeq;
    else if (isActionRequest(e.detail)) { actionsInFlight += 1; actionSeq += 1; }
  });

  document.addEventListener("htmx:afterRequest", function (e) {
    if (!isActionRequest(e.detail)) return; // by path: htmx may re-fire this on an ancestor of a swapped card
    actionsInFlight = Math.max(0, actionsInFlight - 1);
    refreshIfWanted();
  });

  function isActionRequest(detail) {
    return /^\/drafts\/\d+\/[a-z]+$/.test(detail.requestConfig && detail.requestConfig.path || "");
  }

  /* Never swap the whole queue over a form the person is typing in, nor over an action's answer. */
  document.addEventListener("htmx:beforeSwap", function (e) {
    if (e.detail.target !== queue()) return;
    if (anyFormOpen() || actionsInFlight > 0 || refreshSeq !== actionSeq) {
      e.detail.shouldSwap = false;
      refreshWanted = true;
      window.setTimeout(refreshIfWanted, 0);
    }
  });

  /* After htmx settles (it restores the new content's classes then), so the selection sticks. */
  document.addEventListener("htmx:afterSettle", function (e) {
    var target = e.detail.target;
    if (target === queue()) {
      var el = stateEl();
      syncClock(el);
      if (el) showPending(parseInt(el.dataset.pending || "0", 10));
      select(current() || firstActionable(), false);
    } else {
      var card = document.getElementById("draft-" + selectedId);
      if (card) card.classList.add("selected");
      var area = card && $("form.edit-form:not([hidden]) textarea", card);
      if (area) { updateCounter(area); area.focus(); }
    }
    localTimes(document);
    tickTimes();
  });

  /* ---- a soft chime for new drafts (off unless switched on) -------------------------------------- */

  var soundOn = window.localStorage && window.localStorage.getItem("chatcaddy.sound") === "on";
  var audio = null;

  function chime() {
    if (!soundOn || !(window.AudioContext || window.webkitAudioContext)) return;
    audio = audio || new (window.AudioContext || window.webkitAudioContext)();
    var osc = audio.createOscillator();
    var gain = audio.createGain();
    osc.frequency.value = 880;
    gain.gain.setValueAtTime(0.04, audio.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + 0.25);
    osc.connect(gain).connect(audio.destination);
    osc.start();
    osc.stop(audio.currentTime + 0.25);
  }

  function showSound() {
    var button = document.getElementById("sound-toggle");
    if (!button) return;
    button.textContent = soundOn ? "Sound on" : "Sound off";
    button.setAttribute("aria-pressed", soundOn ? "true" : "false");
  }

  document.addEventListener("click", function (e) {
    if (!e.target.closest("#sound-toggle")) return;
    soundOn = !soundOn;
    if (window.localStorage) window.localStorage.setItem("chatcaddy.sound", soundOn ? "on" : "off");
    showSound();
    if (soundOn) chime();
  });

  /* ---- start ------------------------------------------------------------------------------------- */

  syncClock(stateEl() || body);
  localTimes(document);
  tickTimes();
  showSound();
  window.setInterval(tickTimes, 1000);
  if (queue()) {
    select(firstActionable(), false);
    var el = stateEl();
    knownPending = el ? parseInt(el.dataset.pending || "0", 10) : 0;
    window.setTimeout(poll, pollMs);
  } else if (csrf) {
    window.setTimeout(poll, pollMs); // every logged-in page keeps its banner and the queue's count current
  }
})();
