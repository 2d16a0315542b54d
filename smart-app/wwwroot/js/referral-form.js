// Progressive enhancement only: every control works without this file (CSP allows no inline script).
(function () {
  "use strict";

  function siteBox(site) {
    return document.getElementById("site-" + site.replace(":", "-"));
  }

  function paint(site, checked) {
    document.querySelectorAll('.body-map [data-site="' + site + '"]').forEach(function (shape) {
      shape.classList.toggle("selected", checked);
    });
  }

  // The one-time suggestion's memory, posted with the form (the server applies the same rule): which diagnoses'
  // sites were ticked once, and which sites the physician unticked.
  function remembered(name, value) {
    var memory = document.getElementById("suggestion-memory");
    return memory ? Array.prototype.some.call(memory.querySelectorAll('input[name="' + name + '"]'), function (input) {
      return input.value === value;
    }) : false;
  }

  function remember(name, value, keep) {
    var memory = document.getElementById("suggestion-memory");
    if (!memory) {
      return;
    }
    memory.querySelectorAll('input[name="' + name + '"]').forEach(function (input) {
      if (input.value === value && !keep) {
        input.remove();
      }
    });
    if (keep && !remembered(name, value)) {
      var input = document.createElement("input");
      input.type = "hidden";
      input.name = name;
      input.value = value;
      memory.appendChild(input);
    }
  }

  function siteChanged(box) {
    paint(box.value, box.checked);
    remember("Input.Unticked", box.value, !box.checked);
  }

  function suggest(site) {
    var box = siteBox(site);
    if (box && !box.checked && !remembered("Input.Unticked", site)) {
      box.checked = true;
      paint(site, true);
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    // After a failed submit the error summary takes the focus, so the keyboard and the screen reader start there.
    var summary = document.querySelector("[data-focus-on-load]");
    if (summary) {
      summary.focus();
    }

    // A summary link puts the keyboard in its field's first control (not only the scroll position).
    document.querySelectorAll(".error-summary a[href^='#']").forEach(function (link) {
      link.addEventListener("click", function (event) {
        var target = document.getElementById(link.getAttribute("href").slice(1));
        if (!target) {
          return;
        }
        var control = target.matches("input, select, textarea, button")
          ? target
          : target.querySelector("input:not([type=hidden]), select, textarea, button");
        if (control) {
          event.preventDefault();
          target.scrollIntoView();
          control.focus();
        }
      });
    });

    // Body map: a click on a shape ticks its checkbox; the checkboxes stay the real (keyboard, screen reader) controls.
    document.querySelectorAll(".body-map [data-site]").forEach(function (shape) {
      shape.addEventListener("click", function () {
        var box = siteBox(shape.getAttribute("data-site"));
        if (box) {
          box.checked = !box.checked;
          siteChanged(box);
        }
      });
    });
    document.querySelectorAll('input[name="Input.Sites"]').forEach(function (box) {
      box.addEventListener("change", function () { siteChanged(box); });
    });

    // A diagnosis ticked for the first time ticks the body sites it makes obvious, once: never a site the physician
    // unticked, and never again for that diagnosis.
    document.querySelectorAll('input[name="Input.Diagnoses"][data-sites]').forEach(function (box) {
      box.addEventListener("change", function () {
        if (box.checked && !remembered("Input.SuggestionsApplied", box.value)) {
          box.getAttribute("data-sites").split(" ").filter(Boolean).forEach(suggest);
          remember("Input.SuggestionsApplied", box.value, true);
        }
      });
    });

    // Type-ahead: the datalist is narrowed by the server's ValueSet match (names, synonyms, codes).
    document.querySelectorAll("input[data-typeahead]").forEach(function (input) {
      var list = document.getElementById(input.getAttribute("list"));
      var timer = null;
      input.addEventListener("input", function () {
        clearTimeout(timer);
        var text = input.value.trim();
        if (text.length < 2 || !list) {
          return;
        }
        timer = setTimeout(function () {
          fetch(input.getAttribute("data-typeahead") + "?filter=" + encodeURIComponent(text), { credentials: "same-origin" })
            .then(function (response) { return response.ok ? response.json() : []; })
            .then(function (options) {
              if (!options.length) {
                return;
              }
              list.replaceChildren.apply(list, options.map(function (option) {
                var element = document.createElement("option");
                element.value = option.label;
                return element;
              }));
            })
            .catch(function () { /* the server-rendered list stays */ });
        }, 150);
      });
    });

    // "Sign and send" is sent once per page, even on a double click (the server is idempotent as well).
    document.querySelectorAll("form[data-send-once]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (form.getAttribute("data-sending") === "true") {
          event.preventDefault();
          return;
        }
        form.setAttribute("data-sending", "true");
        form.querySelectorAll("button[type=submit]").forEach(function (button) {
          button.setAttribute("aria-disabled", "true");
          button.textContent = "Sending…";
        });
      });
    });
  });
})();
