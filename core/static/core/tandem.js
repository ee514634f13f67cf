/* Tandem UI helpers, loaded with `defer` on every page. No dependencies, no inline
 * script (the Content-Security-Policy forbids it).
 *
 * 1. data-confirm: a form, or the button that submits it, with data-confirm="Message?"
 *    asks window.confirm(message) first; Cancel stops the submit.
 * 2. No double posts: once a POST form is really submitted its submit buttons are
 *    disabled. Opt out with data-no-disable on the form (e.g. a form that downloads a file).
 * 3. Searchable selects: a select with data-choices="<url>" lists a relation's first
 *    records; a search box above it asks <url>?q=<text> for the records matching what is
 *    typed ({"choices": [{"value", "label"}]}), lists them and picks the first. The empty
 *    option and the one chosen stay, so a form never loses what it holds.
 */
(function () {
  "use strict";

  var SUBMIT_BUTTONS = "button[type=submit], button:not([type]), input[type=submit], input[type=image]";

  // Browsers without SubmitEvent.submitter: remember the last submit button clicked.
  var lastClicked = null;
  document.addEventListener("click", function (event) {
    var target = event.target;
    var button = target && target.closest ? target.closest(SUBMIT_BUTTONS) : null;
    lastClicked = button && button.form ? button : null;
  }, true);

  function submitterOf(event) {
    if (event.submitter) return event.submitter;
    if (lastClicked && lastClicked.form === event.target) return lastClicked;
    return null;
  }

  function confirmMessage(form, submitter) {
    if (submitter && submitter.hasAttribute("data-confirm")) return submitter.getAttribute("data-confirm");
    if (form.hasAttribute("data-confirm")) return form.getAttribute("data-confirm");
    return null;
  }

  function methodOf(form, submitter) {
    var method = (submitter && submitter.getAttribute("formmethod")) || form.getAttribute("method") || "get";
    return method.toLowerCase();
  }

  function disableSubmitButtons(form) {
    Array.prototype.forEach.call(form.elements, function (element) {
      if (element.matches(SUBMIT_BUTTONS) && !element.disabled) {
        element.disabled = true;
        element.setAttribute("data-tandem-disabled", "");
      }
    });
  }

  function enableAgain() {
    document.querySelectorAll("[data-tandem-disabled]").forEach(function (element) {
      element.disabled = false;
      element.removeAttribute("data-tandem-disabled");
    });
    document.querySelectorAll("form[data-tandem-submitting]").forEach(function (form) {
      form.removeAttribute("data-tandem-submitting");
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || event.defaultPrevented) return;

    // Already on its way: a second Enter or click must not post again.
    if (form.hasAttribute("data-tandem-submitting")) {
      event.preventDefault();
      return;
    }

    var submitter = submitterOf(event);
    lastClicked = null;
    var message = confirmMessage(form, submitter);
    if (message && !window.confirm(message)) {
      event.preventDefault();
      return;
    }

    if (methodOf(form, submitter) !== "post" || form.hasAttribute("data-no-disable")) return;
    var target = (submitter && submitter.getAttribute("formtarget")) || form.getAttribute("target");
    if (target && target !== "_self") return;

    form.setAttribute("data-tandem-submitting", "");
    // Disable on the next tick: the browser has then already collected the form data,
    // so the clicked button's own name=value is still sent.
    window.setTimeout(function () { disableSubmitButtons(form); }, 0);
  });

  var SEARCH_DELAY_MS = 200;  // wait for a pause in typing before asking the server

  function searchableSelect(select) {
    var box = document.createElement("input");
    var label = select.id ? document.querySelector("label[for='" + select.id + "']") : null;
    box.type = "search";
    box.className = "choices-search";
    box.placeholder = "Type to search…";
    box.autocomplete = "off";
    box.setAttribute("aria-label", "Search " + (label ? label.textContent.replace("*", "").trim() : "choices"));
    if (select.id) {
      box.id = select.id + "-search";
      box.setAttribute("aria-controls", select.id);
    }
    select.parentNode.insertBefore(box, select);

    var timer = null;
    var asked = 0;
    function show(choices, text) {
      var kept = {};
      Array.prototype.slice.call(select.options).forEach(function (option) {
        if (option.value === "" || option.selected) kept[option.value] = true;
        else option.remove();
      });
      choices.forEach(function (choice) {
        if (!kept[choice.value]) select.add(new Option(choice.label, choice.value));
      });
      if (text && choices.length) {
        select.value = choices[0].value;
        select.dispatchEvent(new Event("change", { bubbles: true }));
      }
      box.setAttribute("aria-invalid", text && !choices.length ? "true" : "false");
      box.title = text && !choices.length ? "Nothing matches “" + text + "”" : "";
    }
    function ask() {
      var text = box.value.trim();
      var mine = ++asked;
      var url = select.getAttribute("data-choices");
      fetch(url + (url.indexOf("?") < 0 ? "?" : "&") + "q=" + encodeURIComponent(text),
            { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (data) { if (data && mine === asked) show(data.choices, text); })
        .catch(function () { /* offline or logged out: the select keeps what it has */ });
    }
    box.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(ask, SEARCH_DELAY_MS);
    });
    // Enter in the box searches at once instead of submitting the form half-filled;
    // the down arrow goes on to the select, to pick among what was found.
    box.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {
        event.preventDefault();
        window.clearTimeout(timer);
        ask();
      } else if (event.key === "ArrowDown") {
        event.preventDefault();
        select.focus();
      }
    });
  }

  document.querySelectorAll("select[data-choices]").forEach(searchableSelect);

  // Coming back with the Back button (page restored from the cache): buttons work again.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) enableAgain();
  });
})();
