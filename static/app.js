// Portal's own script: small on purpose. Behaviour lives in htmx attributes; this file adds
// what attributes cannot express: placing live cards, drag and drop, the drawer, the
// websocket hello, and the connection badge. No inline scripts anywhere (the CSP forbids them).
(function () {
  "use strict";

  var socket = null; // the htmx ws extension's socket wrapper for the open board
  var editingCard = null;

  function boardRoot() { return document.getElementById("board-root"); }

  function send(message) {
    if (socket) { try { socket.send(JSON.stringify(message)); } catch (e) { /* reconnect will resend */ } }
  }

  // ---- confirm dialogs: <button data-confirm="…"> --------------------------------------
  document.addEventListener("click", function (event) {
    var target = event.target.closest("[data-confirm]");
    if (!target) { return; }
    if (!window.confirm(target.getAttribute("data-confirm"))) {
      event.preventDefault();
      event.stopImmediatePropagation();
      return;
    }
    target.dataset.confirmedAt = String(Date.now()); // the form's htmx:confirm need not ask again
  }, true);

  document.addEventListener("htmx:confirm", function (event) {
    if (!event.detail.triggeringEvent) { return; } // a request made from script asks nobody
    var el = event.detail.elt.closest("form") || event.detail.elt;
    // Not for requests made from script: htmx.ajax() without a source comes from <body>, which
    // holds every confirm button on the page (opening a second card asked "Archive this card?").
    var button = el !== document.body && el.querySelector && el.querySelector("[data-confirm]");
    if (!button) { return; }
    var confirmedAt = parseInt(button.dataset.confirmedAt || "0", 10);
    delete button.dataset.confirmedAt;
    if (Date.now() - confirmedAt < 5000) { return; } // asked on the click that submitted it
    if (!window.confirm(button.getAttribute("data-confirm"))) { event.preventDefault(); }
  });

  // ---- placing live cards ---------------------------------------------------------------
  // A live fragment carries data-column-id and data-position; put each card where it
  // belongs (it may have been swapped in place in another column, or be brand new).
  // A done column shows its first page: a live tile for a card below it belongs to the part
  // not loaded yet ("more" brings it then) and is not shown. It is not counted either: most
  // such tiles are changes to cards already counted there (a note, a re-triage), and a page
  // cannot tell them from arrivals; the server's count comes back with the next load.
  function beyondLoaded(card) {
    var more = document.querySelector("#more-" + card.dataset.columnId + " [data-after]");
    return !!more && parseFloat(card.dataset.position) > parseFloat(more.dataset.after);
  }

  function placeCard(card) {
    var list = document.querySelector('.cards[data-column-id="' + card.dataset.columnId + '"]');
    if (!list) { card.remove(); return; } // a column this viewer does not have
    var position = parseFloat(card.dataset.position);
    if (card.parentNode !== list && beyondLoaded(card)) { card.remove(); return; }
    var next = null;
    var siblings = list.children;
    for (var i = 0; i < siblings.length; i++) {
      var other = siblings[i];
      if (other !== card && parseFloat(other.dataset.position) > position) { next = other; break; }
    }
    if (card.parentNode !== list || card.nextElementSibling !== next) { list.insertBefore(card, next); }
    card.removeAttribute("data-live");
  }

  // A filtered board asks the server which of the live cards it was just sent still match
  // its filters (the same rules as the page: GET /api/v1/boards/{id}/cards?ids=…&filters),
  // and takes the others off. Nothing is filtered here: the browser only asks.
  var toCheck = {};
  var checkTimer = null;
  function checkFilters(card) {
    var root = boardRoot();
    if (!root || root.dataset.filtered !== "true") { return; }
    toCheck[card.dataset.cardId] = true;
    if (!checkTimer) { checkTimer = window.setTimeout(runFilterCheck, 50); }
  }
  function runFilterCheck() {
    checkTimer = null;
    var root = boardRoot();
    var ids = Object.keys(toCheck).slice(0, 200);
    ids.forEach(function (id) { delete toCheck[id]; });
    if (!root || !ids.length) { return; }
    var query = root.dataset.filterQuery ? "&" + root.dataset.filterQuery : "";
    var url = "/api/v1/boards/" + root.dataset.boardId + "/cards?ids=" + ids.join(",") + query;
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (cards) {
        if (!cards) { return; }
        var matching = {};
        cards.forEach(function (card) { matching[String(card.id)] = true; });
        ids.forEach(function (id) {
          var card = document.getElementById("card-" + id);
          if (card && !matching[id]) { card.remove(); }
        });
        reconcile();
      })
      .catch(function () { /* offline: the next message or the re-fetch on reconnect corrects it */ });
    if (Object.keys(toCheck).length) { checkTimer = window.setTimeout(runFilterCheck, 50); }
  }

  // ---- what the server says about each message ----------------------------------------
  // Every websocket message is one JSON header line, then the HTML to swap. The
  // "portal-live" extension (hx-ext="ws,portal-live" on the board root) cuts the header off
  // before htmx swaps the HTML and announces it as a "portal:live" event; the state below
  // (who edits which card, the board's sequence number, "re-fetch") comes from headers only.
  htmx.defineExtension("portal-live", {
    transformResponse: function (text, xhr, elt) {
      if (xhr !== null || typeof text !== "string" || text.charAt(0) !== "{") { return text; }
      var cut = text.indexOf("\n");
      var header;
      try { header = JSON.parse(cut < 0 ? text : text.slice(0, cut)); } catch (e) { return text; }
      htmx.trigger(elt, "portal:live", header);
      return cut < 0 ? "" : text.slice(cut + 1);
    }
  });

  // "张三 正在编辑": the last known editor of each card (by card id), put back on a card
  // re-rendered later (moved, edited: it comes with an empty marker), and never shown to
  // the editor themselves.
  var editors = {};
  var refreshWanted = false;
  document.addEventListener("portal:live", function (event) {
    var header = event.detail || {};
    var root = boardRoot();
    if (header.type === "editing" && header.card) {
      editors[header.card] = header.name ? { user: String(header.user), name: String(header.name) } : null;
    }
    if (root && typeof header.seq === "number" && (header.type === "cards" || header.type === "refresh") &&
        header.seq > parseInt(root.dataset.seq || "0", 10)) {
      root.dataset.seq = String(header.seq);
    }
    if (header.type === "refresh") { refreshWanted = true; }
  });
  document.addEventListener("htmx:wsAfterMessage", function () {
    if (refreshWanted) { refreshWanted = false; refetchBoard(); }
  });

  function editingText(name) {
    var root = boardRoot();
    var template = (root && root.dataset.editingText) || (document.documentElement.lang === "en" ? "{name} is editing" : "{name} 正在编辑");
    return template.split("{name}").join(name);
  }

  function reconcile() {
    var root = boardRoot();
    if (!root) { return; }
    var me = document.body.dataset.userId;
    Object.keys(editors).forEach(function (cardId) {
      var marker = document.getElementById("editing-" + cardId);
      if (!marker) { return; }
      var editor = editors[cardId];
      var text = editor && editor.user !== me ? editingText(editor.name) : "";
      if (marker.textContent !== text) { marker.textContent = text; }
      marker.classList.toggle("active", !!text);
      marker.hidden = !!editor && editor.user === me;
      if (editor) { marker.dataset.userId = editor.user; } else { marker.removeAttribute("data-user-id"); }
    });
    // A marker naming the person looking at it (their own drawer) stays hidden.
    document.querySelectorAll(".editing[data-user-id]").forEach(function (marker) {
      marker.hidden = !!me && marker.dataset.userId === me;
    });
    document.querySelectorAll("article.card[data-live]").forEach(function (card) {
      checkFilters(card);
      placeCard(card);
    });
    document.querySelectorAll("article.card").forEach(function (card) {
      card.classList.toggle("mine", !!me && card.dataset.assigneeId === me);
    });
    document.querySelectorAll("section.column").forEach(function (column) {
      // A card shown twice (loaded by "more" after a drag put it below the first page): once,
      // where the later page, in the server's order, put it.
      var last = {};
      column.querySelectorAll(".cards > article.card").forEach(function (card) {
        if (last[card.id]) { last[card.id].remove(); }
        last[card.id] = card;
      });
      var more = column.querySelector(".column-more [data-remaining]");
      var count = column.querySelectorAll(".cards > article.card").length +
        (more ? parseInt(more.dataset.remaining || "0", 10) : 0);
      var limit = parseInt(column.dataset.wipLimit || "0", 10);
      var badge = column.querySelector(".column-head .count");
      if (badge) {
        if (more && more.dataset.capped) { badge.textContent = count + "+"; return; }
        badge.textContent = limit ? count + "/" + limit : String(count);
        badge.classList.toggle("over-limit", !!limit && count > limit);
      }
    });
    // The answer to this page's own card writes (plain htmx, no header) carries the sequence.
    var seq = document.getElementById("board-seq");
    if (seq && parseInt(seq.dataset.seq || "0", 10) > parseInt(root.dataset.seq || "0", 10)) {
      root.dataset.seq = seq.dataset.seq;
    }
  }

  function refetchBoard() {
    var root = boardRoot();
    if (!root) { return; }
    htmx.ajax("GET", window.location.pathname + window.location.search, { target: "#board-root", swap: "outerHTML" });
  }

  // A live card whose element is not on the page yet: htmx reports "no target"; insert it.
  document.addEventListener("htmx:oobErrorNoTarget", function (event) {
    var content = event.detail.content;
    if (content && content.matches && content.matches("article.card[data-live]")) {
      var list = document.querySelector('.cards[data-column-id="' + content.dataset.columnId + '"]');
      if (list && !beyondLoaded(content)) {
        content.removeAttribute("hx-swap-oob");
        list.appendChild(content);
        htmx.process(content);
        placeCard(content);
      }
    }
  });

  document.addEventListener("htmx:afterSettle", reconcile);
  document.addEventListener("htmx:oobAfterSwap", reconcile);

  // ---- the websocket: hello with the last sequence shown, status badge ------------------
  function setStatus(state, text) {
    var badge = document.getElementById("live-status");
    if (badge) { badge.dataset.state = state; badge.textContent = badge.dataset["text" + state] || text; }
  }
  var statusText = {
    connected: document.documentElement.lang === "en" ? "Live" : "实时同步中",
    connecting: document.documentElement.lang === "en" ? "Reconnecting…" : "正在重新连接…",
    offline: document.documentElement.lang === "en" ? "Offline" : "连接已断开"
  };

  document.addEventListener("htmx:wsOpen", function (event) {
    socket = event.detail.socketWrapper;
    var root = boardRoot();
    if (root) {
      var hello = { type: "hello", seq: parseInt(root.dataset.seq || "0", 10) };
      if (root.dataset.scoped === "true") {
        // A department-scoped viewer says which cards the page shows: only those may be
        // taken off it when they left the department while the page was away.
        hello.cards = Array.prototype.map.call(root.querySelectorAll("article.card[data-card-id]"), function (card) {
          return parseInt(card.dataset.cardId, 10);
        }).slice(0, 5000);
      }
      send(hello);
    }
    if (editingCard) { send({ type: "editing", card: editingCard }); }
    setStatus("connected", statusText.connected);
  });

  // The server accepts every handshake and closes a refused one with a code saying why
  // (4401 logged out, 4403 not allowed, 4404 no access; the reason is the message to show,
  // in the user's language). The ws extension does not retry these: say so, plainly.
  var stopText = {
    4401: document.documentElement.lang === "en" ? "Your session has ended. Please log in again." : "登录已失效，请重新登录",
    4403: document.documentElement.lang === "en" ? "Live updates stopped: this page may not connect. Reload it." : "实时更新已停止：此页面不允许连接，请刷新页面",
    4404: document.documentElement.lang === "en" ? "Live updates stopped: this board does not exist or you may not see it." : "实时更新已停止：看板不存在或你无权查看"
  };
  function showStopped(code, reason) {
    var text = reason || stopText[code];
    setStatus("offline", text);
    var notice = document.getElementById("live-notice");
    if (!notice) {
      notice = document.createElement("div");
      notice.id = "live-notice";
      notice.className = "alert alert-error";
      notice.setAttribute("role", "alert");
      var main = document.getElementById("main") || document.body;
      main.insertBefore(notice, main.firstChild);
    }
    notice.dataset.code = String(code);
    notice.textContent = "";
    if (code === 4401) {
      var link = document.createElement("a");
      link.href = "/login?next=" + encodeURIComponent(window.location.pathname + window.location.search);
      link.textContent = text;
      notice.appendChild(link);
    } else {
      notice.textContent = text;
    }
  }
  document.addEventListener("htmx:wsClose", function (event) {
    var close = (event.detail && event.detail.event) || {};
    if (stopText[close.code]) {
      showStopped(close.code, close.reason);
      return;
    }
    setStatus("connecting", statusText.connecting);
  });
  document.addEventListener("htmx:wsError", function () {
    var badge = document.getElementById("live-status");
    if (badge && badge.dataset.state === "offline" && document.getElementById("live-notice")) { return; }
    setStatus("offline", statusText.offline);
  });
  document.addEventListener("htmx:wsAfterMessage", reconcile);

  // ---- the drawer -----------------------------------------------------------------------
  // Focus follows the drawer: into it when it opens (its title, from where the move menu is
  // two Tabs away), back to the card's tile when it closes.
  var openedFrom = null;
  var focusDrawer = false;
  function openCard(cardId) {
    cardId = parseInt(cardId, 10);
    openedFrom = cardId;
    focusDrawer = true;
    htmx.ajax("GET", "/cards/" + cardId, { target: "#drawer", swap: "outerHTML" }).then(function () {
      editingCard = cardId;
      send({ type: "editing", card: cardId });
    });
  }
  // Once settled (its forms made live by htmx), not merely swapped in: a key pressed at
  // once must reach a working form.
  document.addEventListener("htmx:afterSettle", function () {
    if (!focusDrawer) { return; }
    var title = document.getElementById("drawer-title");
    if (title) { focusDrawer = false; title.focus(); }
  });
  function closeDrawer() {
    var drawer = document.getElementById("drawer");
    var wasOpen = drawer && !drawer.hidden;
    if (drawer) { drawer.innerHTML = ""; drawer.hidden = true; }
    if (editingCard) { send({ type: "editing", card: null }); editingCard = null; }
    var tile = openedFrom && document.getElementById("card-" + openedFrom);
    if (wasOpen && tile) { tile.focus(); }
    openedFrom = null;
  }

  document.addEventListener("click", function (event) {
    if (!boardRoot()) { return; }
    var close = event.target.closest(".close-drawer");
    if (close) { event.preventDefault(); closeDrawer(); return; }
    var link = event.target.closest("article.card a.open-card");
    if (link) { event.preventDefault(); openCard(link.closest("article.card").dataset.cardId); }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { closeDrawer(); return; }
    var card = event.target.closest && event.target.closest("article.card");
    if (card && event.key === "Enter" && event.target === card) { openCard(card.dataset.cardId); }
  });

  // Phone: the filters fold behind one button.
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest && event.target.closest(".filters-toggle");
    var root = toggle && toggle.closest(".board-root");
    if (!root) { return; }
    var open = root.classList.toggle("filters-open");
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
  });

  // Quick add: clear the field once the card is created.
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (form.classList && form.classList.contains("quick-add") && event.detail.successful) { form.reset(); }
  });

  // ---- drag and drop (SortableJS) -------------------------------------------------------
  function initSortable(root) {
    if (!window.Sortable || !root || root.dataset.canEdit !== "true") { return; }
    root.querySelectorAll(".cards").forEach(function (list) {
      if (list._sortable) { return; }
      list._sortable = Sortable.create(list, {
        group: "board-" + root.dataset.boardId,
        animation: 120,
        delay: 150,
        delayOnTouchOnly: true,
        // The title (a link) is where people grab a card: it drags too, and a click without a
        // drag still opens the drawer. Controls never start a drag.
        filter: "button, input, select, textarea",
        preventOnFilter: false,
        onEnd: function (event) {
          var card = event.item;
          var target = event.to;
          if (event.from === target && event.oldIndex === event.newIndex) { return; }
          var above = card.previousElementSibling;
          htmx.ajax("POST", "/cards/" + card.dataset.cardId + "/move", {
            source: card,
            swap: "none",
            values: {
              column_id: target.dataset.columnId,
              after_id: above ? above.dataset.cardId : "",
              version: card.dataset.version
            }
          });
        }
      });
    });
  }

  htmx.onLoad(function (element) {
    var root = element.id === "board-root" ? element : element.querySelector && element.querySelector("#board-root");
    if (root) {
      initSortable(root);
      var params = new URLSearchParams(window.location.search);
      if (params.get("card")) { openCard(params.get("card")); }
    }
  });

  // Close the phone menu after navigating.
  document.addEventListener("htmx:afterSwap", function () {
    var toggle = document.getElementById("nav-toggle");
    if (toggle) { toggle.checked = false; }
  });
})();

// Deadline badges: on time / due soon / overdue, with the time left, kept current every
// half minute from the badge's own datetime (the broadcast HTML is the same for everyone).
(function () {
  "use strict";
  var english = document.documentElement.lang === "en";
  function left(ms) {
    var minutes = Math.round(Math.abs(ms) / 60000);
    var text = minutes < 60 ? minutes + (english ? " min" : " 分钟")
      : minutes < 1440 ? Math.floor(minutes / 60) + (english ? " h " : " 小时") + (minutes % 60 ? (minutes % 60) + (english ? " min" : " 分") : "")
      : Math.floor(minutes / 1440) + (english ? " d " : " 天") + (Math.floor((minutes % 1440) / 60) ? Math.floor((minutes % 1440) / 60) + (english ? " h" : " 小时") : "");
    if (ms < 0) { return english ? "overdue " + text : "已超时 " + text; }
    return english ? text + " left" : "剩余 " + text;
  }
  function refresh() {
    var now = Date.now();
    document.querySelectorAll("time.due[datetime]").forEach(function (badge) {
      var due = Date.parse(badge.getAttribute("datetime"));
      if (isNaN(due)) { return; }
      var ms = due - now;
      badge.classList.toggle("overdue", ms < 0);
      badge.classList.toggle("due-soon", ms >= 0 && ms < 4 * 3600000);
      badge.classList.toggle("on-time", ms >= 4 * 3600000);
      badge.textContent = left(ms);
    });
  }
  document.addEventListener("DOMContentLoaded", refresh);
  document.addEventListener("htmx:afterSettle", refresh);
  document.addEventListener("htmx:wsAfterMessage", refresh);
  window.setInterval(refresh, 30000);
})();

// ---- comments: escalations and batch — many at once (the bulk bar) -----------------------
// On a comments board whose viewer may edit, the board's bulk bar (GET /boards/{id}/batch).
// "Select cards" toggles selection mode: a checkbox on each tile (put back on tiles that a
// live update re-renders), a click on a tile ticks it instead of opening the drawer, and
// the bar's form carries one hidden card_ids input per selected card.
(function () {
  "use strict";
  var selected = {};

  function root() { return document.getElementById("board-root"); }
  function selecting() { var r = root(); return !!r && r.classList.contains("bulk-selecting"); }

  // The bar's slot comes with the board (partials/comments/_bulk_bar_slot.html); a board
  // rendered again (filters, re-fetch) starts with nothing selected.
  function loadBar(element) {
    var r = element && element.id === "board-root" ? element : element && element.querySelector && element.querySelector("#board-root");
    if (r) { selected = {}; }
  }

  function sync() {
    var on = selecting();
    var ids = document.getElementById("bulk-ids");
    var count = document.querySelector("[data-bulk-count]");
    document.querySelectorAll("#board-root article.card[data-card-id]").forEach(function (card) {
      var box = card.querySelector("input.bulk-check");
      if (on && !box) {
        box = document.createElement("input");
        box.type = "checkbox";
        box.className = "bulk-check";
        var title = card.querySelector("h3");
        box.setAttribute("aria-label", title ? title.textContent.trim() : card.dataset.cardId);
        card.insertBefore(box, card.firstChild);
      }
      if (!on && box) { box.remove(); }
      if (on) {
        box.checked = !!selected[card.dataset.cardId];
        card.classList.toggle("bulk-selected", box.checked);
      } else {
        card.classList.remove("bulk-selected");
      }
    });
    if (ids) {
      ids.textContent = "";
      Object.keys(selected).forEach(function (id) {
        var input = document.createElement("input");
        input.type = "hidden";
        input.name = "card_ids";
        input.value = id;
        ids.appendChild(input);
      });
    }
    if (count) { count.textContent = String(Object.keys(selected).length); }
  }

  document.addEventListener("click", function (event) {
    var toggle = event.target.closest && event.target.closest("[data-bulk-toggle]");
    if (toggle) {
      var r = root();
      if (!r) { return; }
      var on = !r.classList.contains("bulk-selecting");
      r.classList.toggle("bulk-selecting", on);
      toggle.setAttribute("aria-pressed", on ? "true" : "false");
      var form = document.querySelector("#bulk-bar .bulk-form");
      if (form) { form.hidden = !on; }
      if (!on) { selected = {}; }
      sync();
      return;
    }
    if (!selecting()) { return; }
    var card = event.target.closest && event.target.closest("#board-root article.card[data-card-id]");
    if (!card) { return; }
    // In selection mode a tile is ticked, not opened (the checkbox itself toggles as usual).
    var box = event.target.classList.contains("bulk-check");
    if (!box) { event.preventDefault(); }
    event.stopPropagation();
    var id = card.dataset.cardId;
    if (box ? event.target.checked : !selected[id]) { selected[id] = true; } else { delete selected[id]; }
    sync();
  }, true);

  htmx.onLoad(loadBar);
  document.addEventListener("htmx:afterSettle", function () { if (selecting()) { sync(); } });
  document.addEventListener("htmx:oobAfterSwap", function () { if (selecting()) { sync(); } });
  document.addEventListener("htmx:wsAfterMessage", function () { if (selecting()) { sync(); } });
})();

// comments: replies — the reply editor's live character count against the platform's limit
// (the textarea carries it in data-reply-limit; the server enforces the same number).
(function () {
  "use strict";
  function count(area) {
    var output = document.querySelector('output[data-count-for="' + area.id + '"]');
    if (!output) { return; }
    var used = Array.from(area.value).length; // characters, as the server counts them
    var limit = parseInt(area.getAttribute("data-reply-limit"), 10);
    output.textContent = used;
    output.classList.toggle("over-limit", !isNaN(limit) && used > limit);
  }
  function countAll() {
    document.querySelectorAll("textarea[data-reply-limit]").forEach(count);
  }
  document.addEventListener("input", function (event) {
    if (event.target.matches && event.target.matches("textarea[data-reply-limit]")) { count(event.target); }
  });
  document.addEventListener("DOMContentLoaded", countAll);
  document.addEventListener("htmx:afterSettle", countAll);

  // A card changed while its drawer is open (a manager approved a reply, a department signed
  // for a case): the card comes back live with a newer version than the drawer's live
  // sections (data-live-section: the URL they load from) were rendered from. Re-load each
  // such section, and the deadline, unless something is being written in it; the drawer's
  // own form is left alone (it keeps its 409).
  function refreshOpenSections() {
    var drawer = document.getElementById("drawer");
    var id = drawer && drawer.dataset.cardId;
    var tile = id && document.getElementById("card-" + id);
    if (!tile) { return; }
    var refreshed = false;
    drawer.querySelectorAll("[data-live-section]").forEach(function (section) {
      var shown = section.querySelector("[data-card-version]");
      if (!shown || !(parseInt(tile.dataset.version, 10) > parseInt(shown.dataset.cardVersion, 10))) { return; }
      // Someone is writing here: a field changed, or an action's form opened (a reload would
      // close it under the pointer). The section reloads once the form is closed.
      var writing = !!section.querySelector("details[open] form") ||
        Array.prototype.some.call(section.querySelectorAll("textarea, input:not([type=hidden]), select"), function (field) {
          if (field.tagName === "SELECT") { return false; }
          if (field.type === "checkbox" || field.type === "radio") { return field.checked !== field.defaultChecked; }
          return field.value !== field.defaultValue;
        });
      if (writing) { return; }
      shown.dataset.cardVersion = tile.dataset.version; // once per change
      // Each section is its own source: requests from one source (by default <body>) are
      // synchronised, so the second section's reload would be dropped while the first's runs.
      htmx.ajax("GET", section.dataset.liveSection, { source: section, target: section, swap: "innerHTML" });
      refreshed = true;
    });
    if (refreshed && document.getElementById("deadline-" + id)) {
      htmx.ajax("GET", "/cards/" + id, { target: "#deadline-" + id, select: "#deadline-" + id, swap: "outerHTML" });
    }
  }
  document.addEventListener("htmx:wsAfterMessage", refreshOpenSections);
  // An action's form closed without being sent: catch up on what changed meanwhile.
  document.addEventListener("toggle", function (event) {
    var details = event.target;
    if (details.tagName === "DETAILS" && !details.open && details.closest("#drawer [data-live-section]")) { refreshOpenSections(); }
  }, true);
})();

// inquiries: knowledge base — "Use this answer" puts an approved entry's answer into the
// inquiry's answer field in the same drawer (appended after what is already written).
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-insert-answer]");
    if (!button) { return; }
    var scope = button.closest(".drawer") || document;
    var area = scope.querySelector('textarea[name="answer"]');
    if (!area) { return; }
    var text = button.getAttribute("data-insert-answer");
    var current = area.value.replace(/\s+$/, "");
    area.value = current ? current + "\n\n" + text : text;
    area.dispatchEvent(new Event("input", { bubbles: true }));
    area.focus();
  });
})();

// ---- early warning: the 舆情监测 page follows its boards' topics and alerts --------------
// A signal (#warning-signal, swapped in out of band on any page) asks the monitoring page, and
// only it, to fetch its live section again: at most one fetch in flight, the last signal wins.
(function () {
  "use strict";
  var timer = null;
  document.addEventListener("htmx:oobAfterSwap", function (event) {
    var signal = event.detail && event.detail.target;
    if (!signal || signal.id !== "warning-signal" || !document.getElementById("warning-live")) { return; }
    if (timer) { window.clearTimeout(timer); }
    timer = window.setTimeout(function () {
      timer = null;
      if (!document.getElementById("warning-live")) { return; }
      htmx.ajax("GET", signal.dataset.refresh || "/warning/live", { target: "#warning-live", swap: "outerHTML", source: "#warning-page" });
    }, 300);
  });
})();
