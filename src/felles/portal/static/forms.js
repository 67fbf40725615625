// The form pages: autosave on change (htmx posts the form and swaps the page body in place), focus to the
// error summary when a page comes back with errors, and the print button. No inline script: the pages'
// Content-Security-Policy allows scripts from our own files only.
(function () {
  "use strict";

  function focusErrorSummary() {
    var summary = document.getElementById("error-summary");
    if (summary) {
      summary.focus();
    }
  }

  function autosave(form) {
    var url = form.getAttribute("data-autosave");
    if (!url || !window.htmx) {
      return; // without htmx the page still works: every button posts the whole form
    }
    form.addEventListener("change", function (event) {
      var target = event.target;
      if (!target || !target.name || target.type === "file" || target.form !== form) {
        return;
      }
      var status = document.getElementById("save-status");
      window.htmx.ajax("POST", url, {
        source: form,
        target: "#form-body",
        select: "#form-body",
        swap: "outerHTML",
      }).then(function () {
        if (status) {
          status.textContent = status.getAttribute("data-saved") || status.textContent;
        }
      });
    });
  }

  function printButtons() {
    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.addEventListener("click", function () {
        window.print();
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("form-page");
    if (form) {
      autosave(form);
    }
    printButtons();
    focusErrorSummary();
  });
  document.addEventListener("htmx:afterSettle", printButtons);
})();
