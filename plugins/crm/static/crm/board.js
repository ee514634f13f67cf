// Pipeline board: drag a deal card to another stage column. The server validates the
// move (POST JSON with the CSRF token in X-CSRFToken); a refused move snaps back and
// shows the reason. No inline script: the page's CSP forbids it.
(function () {
  "use strict";
  function init() {
    var board = document.querySelector(".board[data-move-url]");
    if (!board) return;
    var status = document.getElementById("board-status");
    var dragged = null, origin = null;

    function say(text, kind) {
      if (!status) return;
      status.hidden = false;
      status.className = "flash flash-" + kind;
      status.textContent = text;
    }

    board.addEventListener("dragstart", function (e) {
      var card = e.target.closest(".board-card");
      if (!card || card.getAttribute("draggable") !== "true") return;
      dragged = card; origin = card.parentElement;
      card.classList.add("dragging");
      e.dataTransfer.effectAllowed = "move";
      e.dataTransfer.setData("text/plain", card.dataset.dealId);
    });
    board.addEventListener("dragend", function () {
      if (dragged) dragged.classList.remove("dragging");
      board.querySelectorAll(".drop-target").forEach(function (c) { c.classList.remove("drop-target"); });
    });
    board.addEventListener("dragover", function (e) {
      var column = e.target.closest(".board-column");
      if (!column || !dragged) return;
      e.preventDefault();
      column.classList.add("drop-target");
    });
    board.addEventListener("dragleave", function (e) {
      var column = e.target.closest(".board-column");
      if (column) column.classList.remove("drop-target");
    });
    board.addEventListener("drop", function (e) {
      var column = e.target.closest(".board-column");
      if (!column || !dragged || column === origin) return;
      e.preventDefault();
      var card = dragged, from = origin;
      column.appendChild(card);
      fetch(board.dataset.moveUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: {"Content-Type": "application/json", "X-CSRFToken": board.dataset.csrf},
        body: JSON.stringify({deal_id: parseInt(card.dataset.dealId, 10),
                              stage_id: parseInt(column.dataset.stageId, 10)})
      }).then(function (response) {
        return response.json().then(function (body) { return {ok: response.ok, body: body}; });
      }).then(function (result) {
        if (result.ok) {
          say(result.body.message, "success");
          if (result.body.status !== "open") card.setAttribute("draggable", "false");
        } else {
          from.appendChild(card);
          say("Not moved: " + (result.body.message || "refused"), "error");
        }
      }).catch(function () {
        from.appendChild(card);
        say("Not moved: the server could not be reached.", "error");
      });
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
