/* Tandem UI helpers, loaded with `defer` on every page. No dependencies, no inline
 * script (the Content-Security-Policy forbids it).
 *
 * 1. data-confirm: a form, or the button that submits it, with data-confirm="Message?"
 *    asks window.confirm(message) first; Cancel stops the submit.
 * 2. No double posts: once a POST form is really submitted its submit buttons are
 *    disabled. Opt out with data-no-disable on the form (e.g. a form that downloads a file).
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

  // Coming back with the Back button (page restored from the cache): buttons work again.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) enableAgain();
  });
})();
