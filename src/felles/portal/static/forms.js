// The form pages: autosave (the form is posted when a field is left changed, or a choice is made, and the page
// body the server draws back replaces the old one, with the messages of the fields the person has changed and
// the error summary), focus to the error summary when a page comes back with errors, the summary's links that
// put focus in the field they name, tabs, and the print button. No inline script: the pages'
// Content-Security-Policy allows our own files only.
(function () {
  "use strict";

  var TEXT_TYPES = ["text", "search", "date", "number", "email", "tel", "url"];

  function isText(element) {
    return element.tagName === "TEXTAREA" || (element.tagName === "INPUT" && TEXT_TYPES.indexOf(element.type) >= 0);
  }

  function focusErrorSummary() {
    var summary = document.getElementById("error-summary");
    if (summary) {
      summary.focus();
    }
    return Boolean(summary);
  }

  // Focus the field an id names: the input itself, or the first input of a group of them (radio buttons,
  // an address, a Likert question).
  function focusField(id) {
    var target = id && document.getElementById(id);
    if (!target) {
      return false;
    }
    var field = target.matches("input, select, textarea, button") ? target :
      target.querySelector("input:not([type=hidden]), select, textarea");
    revealTabsOf(field || target);
    (field || target).focus();
    if (document.activeElement !== (field || target)) {
      return false;
    }
    (field || target).scrollIntoView({block: "center"});
    return true;
  }

  // Tabs (WAI-ARIA's tabs pattern): a click or the arrow, Home and End keys show a tab; the hidden field keeps the
  // choice, so the page autosave draws again shows the same tab.
  function selectTab(box, tab, focus) {
    tabsOf(box).forEach(function (other) {
      var chosen = other === tab;
      other.setAttribute("aria-selected", chosen ? "true" : "false");
      other.tabIndex = chosen ? 0 : -1;
      var panel = document.getElementById(other.getAttribute("aria-controls"));
      if (panel) {
        panel.hidden = !chosen;
      }
    });
    var choice = box.querySelector("[data-tab-choice]");
    if (choice) {
      choice.value = box.id + ":" + tab.getAttribute("data-tab");
    }
    if (focus) {
      tab.focus();
    }
  }

  function tabsOf(box) {
    return Array.prototype.slice.call(box.querySelectorAll(":scope > [role=tablist] > [role=tab]"));
  }

  // One listener for every tab list, so tabs drawn again by autosave work at once.
  function tabs() {
    function tabOf(event) {
      var tab = event.target.closest ? event.target.closest("[role=tab][data-tab]") : null;
      var box = tab ? tab.closest("[data-tabs]") : null;
      return box && tabsOf(box).indexOf(tab) >= 0 ? {tab: tab, box: box} : null;
    }
    document.addEventListener("click", function (event) {
      var found = tabOf(event);
      if (found) {
        event.preventDefault(); // without script the button posts the page, which comes back on this tab
        selectTab(found.box, found.tab, false);
      }
    });
    document.addEventListener("keydown", function (event) {
      var found = tabOf(event);
      if (!found) {
        return;
      }
      var list = tabsOf(found.box);
      var index = list.indexOf(found.tab);
      var next = {ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: list.length - 1}[event.key];
      if (next !== undefined) {
        event.preventDefault();
        selectTab(found.box, list[(next + list.length) % list.length], true);
      }
    });
  }

  // A field in a tab not shown: its tab is shown first.
  function revealTabsOf(element) {
    var panel = element.closest("[role=tabpanel]");
    while (panel) {
      var tab = document.getElementById(panel.getAttribute("aria-labelledby"));
      var box = panel.closest("[data-tabs]");
      if (panel.hidden && tab && box) {
        selectTab(box, tab, false);
      }
      panel = panel.parentElement ? panel.parentElement.closest("[role=tabpanel]") : null;
    }
  }

  function summaryLinks() {
    document.addEventListener("click", function (event) {
      var link = event.target.closest ? event.target.closest("#error-summary a[href^='#']") : null;
      if (link && focusField(decodeURIComponent(link.getAttribute("href").slice(1)))) {
        event.preventDefault();
      }
    });
  }

  function autosave(form) {
    var url = form.getAttribute("data-autosave");
    if (!url || !window.htmx) {
      return; // without htmx the page still works: every button posts the whole form
    }
    var queue = Promise.resolve();
    var status = document.getElementById("save-status");

    var pending = 0;
    var posted = {}; // the fields' states as the save whose answer comes next posted them

    // A field's state as a string: its text, whether it is checked, or the options chosen.
    function stateOf(field) {
      if (field.type === "checkbox" || field.type === "radio") {
        return field.checked ? "1" : "0";
      }
      if (field.tagName === "SELECT") {
        return Array.prototype.map.call(field.selectedOptions, function (o) { return o.value; }).join("\u0000");
      }
      return field.value;
    }

    function setState(field, state) {
      if (field.type === "checkbox" || field.type === "radio") {
        field.checked = state === "1";
      } else if (field.tagName === "SELECT") {
        var chosen = state.split("\u0000");
        Array.prototype.forEach.call(field.options, function (o) { o.selected = chosen.indexOf(o.value) >= 0; });
      } else {
        field.value = state;
      }
    }

    function fieldStates() {
      var found = {};
      form.querySelectorAll("input, textarea, select").forEach(function (field) {
        if (field.id && field.type !== "file" && field.type !== "hidden") {
          found[field.id] = stateOf(field);
        }
      });
      return found;
    }

    function save() {
      // One save at a time, in order; each posts the whole form as it is when it starts. The form is
      // aria-busy meanwhile.
      pending += 1;
      form.setAttribute("aria-busy", "true");
      queue = queue.then(function () {
        posted = fieldStates();
        return window.htmx.ajax("POST", url, {source: form, target: "#form-body", select: "#form-body",
                                              selectOOB: "#error-summary-slot", swap: "outerHTML"});
      }).then(function () {
        if (status) {
          status.textContent = status.getAttribute("data-saved") || "";
        }
      }, function () { /* a failed save leaves the page as it is; the next one tries again */ }).then(function () {
        pending -= 1;
        if (pending === 0) {
          form.removeAttribute("aria-busy");
        }
      });
    }

    // A text field saves when it is left with another value than the page was drawn with (its defaultValue);
    // a choice saves at once.
    form.addEventListener("focusout", function (event) {
      var target = event.target;
      if (target && target.name && target.form === form && isText(target) && target.value !== target.defaultValue) {
        target.defaultValue = target.value;
        save();
      }
    });
    form.addEventListener("change", function (event) {
      var target = event.target;
      if (target && target.name && target.form === form && !isText(target) && target.type !== "file") {
        save();
      }
    });

    // What was typed or chosen after a save was posted must survive the page body that save's answer brings:
    // it is carried over (and the next save, already queued or made when the field is left, posts it).
    var carried = null;
    document.body.addEventListener("htmx:beforeSwap", function (event) {
      var active = document.activeElement;
      // A date (or number) half typed has no value yet, only the browser's own state of its parts, which a new
      // field would not have: the field being typed in is kept as it is (htmx's hx-preserve moves the element
      // itself into the new page body), and its own save draws it when the person leaves it.
      if (active && active.id && form.contains(active) && active.validity && active.validity.badInput &&
          typeof event.detail.serverResponse === "string") {
        var id = 'id="' + active.id + '"';
        event.detail.serverResponse = event.detail.serverResponse.replace(id, id + " hx-preserve");
      }
      var now = fieldStates();
      carried = {values: {}, active: active && active.id ? active.id : null,
                 start: active ? active.selectionStart : null, end: active ? active.selectionEnd : null,
                 tabs: {}};
      // so is a tab chosen meanwhile
      form.querySelectorAll("[data-tab-choice]").forEach(function (choice) {
        var parts = choice.value.split(":");
        carried.tabs[parts[0]] = parts.slice(1).join(":");
      });
      Object.keys(now).forEach(function (id) {
        if (now[id] !== posted[id]) {
          carried.values[id] = now[id];
        }
      });
    });
    document.body.addEventListener("htmx:afterSwap", function () {
      if (!carried) {
        return;
      }
      Object.keys(carried.values).forEach(function (id) {
        var field = document.getElementById(id);
        if (field) {
          setState(field, carried.values[id]);
        }
      });
      Object.keys(carried.tabs).forEach(function (boxId) {
        var box = document.getElementById(boxId);
        var tab = box && tabsOf(box).filter(function (t) {
          return t.getAttribute("data-tab") === carried.tabs[boxId];
        })[0];
        if (tab && tab.getAttribute("aria-selected") !== "true") {
          selectTab(box, tab, false);
        }
      });
      var active = carried.active && document.getElementById(carried.active);
      if (active && isText(active) && carried.active in carried.values) {
        try {
          active.setSelectionRange(carried.start, carried.end);
        } catch (ignored) { /* a date field has no selection */ }
      }
      carried = null;
    });
  }

  function printButtons() {
    document.querySelectorAll("[data-print]").forEach(function (button) {
      if (!button.hasAttribute("data-print-ready")) {
        button.setAttribute("data-print-ready", "");
        button.addEventListener("click", function () {
          window.print();
        });
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("form-page");
    if (form) {
      autosave(form);
    }
    printButtons();
    tabs();
    summaryLinks();
    // a page with errors starts at their summary; one opened by a summary's link on another page, at its field
    if (!focusErrorSummary() && window.location.hash) {
      focusField(decodeURIComponent(window.location.hash.slice(1)));
    }
  });
  document.addEventListener("htmx:afterSettle", function () {
    printButtons();
  });
})();
