// The therapist list follows the diagnoses, precautions and insurance at once: on a change, the fields that rank
// therapists are posted to the form's ?handler=Therapists, and the server's own ranking (a partial) replaces the list. Without this file the list
// follows on the next round trip ("Add diagnosis", "Review referral"). No inline script: the CSP allows none.
(function () {
  "use strict";

  var watched = ["Input.Diagnoses", "Input.Precautions", "Input.CoverageId"];
  var sent = ["__RequestVerificationToken", "Input.Diagnoses", "Input.Precautions", "Input.CoverageId"];

  function currentList() {
    return document.querySelector(".therapist-list[data-refresh]");
  }

  function statusLine() {
    var status = document.getElementById("therapist-list-status");
    if (!status) {
      var list = currentList();
      status = document.createElement("p");
      status.id = "therapist-list-status";
      status.className = "visually-hidden";
      status.setAttribute("role", "status");
      list.parentNode.insertBefore(status, list);
    }
    return status;
  }

  function announce(list) {
    var count = Number(list.getAttribute("data-count") || "0");
    var selected = list.getAttribute("data-selected");
    var chosen = selected ? list.querySelector('label[for="choose-' + selected + '"]') : null;
    statusLine().textContent = (count === 1 ? "1 therapist listed" : count + " therapists listed") +
      (chosen ? "; " + chosen.textContent.trim() + " is chosen." : ".");
  }

  document.addEventListener("DOMContentLoaded", function () {
    var list = currentList();
    if (!list || !window.fetch) {
      return;
    }
    var form = list.closest("form");
    var generation = 0;
    // The physician's own pick is kept while the list still offers it; the app's preselection follows the diagnoses.
    var picked = false;
    statusLine();

    function chosen() {
      var radio = form.querySelector('input[name="Input.Therapist"]:checked');
      return radio ? radio.value : null;
    }

    function refresh() {
      var asked = chosen();
      var body = new URLSearchParams();
      new FormData(form).forEach(function (value, name) {
        if (sent.indexOf(name) >= 0) {
          body.append(name, value);
        }
      });
      if (picked && asked) {
        body.append("Input.Therapist", asked);
      }
      var mine = ++generation;
      var current = currentList();
      current.setAttribute("aria-busy", "true");
      // POST, with the form's antiforgery token: the diagnoses stay out of URLs (and so out of request logs).
      fetch(current.getAttribute("data-refresh"), { method: "POST", body: body, credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) {
          if (html === null || mine !== generation) {
            return;
          }
          var fresh = new DOMParser().parseFromString(html, "text/html").querySelector(".therapist-list[data-refresh]");
          if (fresh) {
            var adopted = document.importNode(fresh, true);
            var now = chosen();
            currentList().replaceWith(adopted);
            // A therapist picked while the list was on its way stays picked, if the new list still offers them.
            if (now !== asked && now !== null) {
              adopted.querySelectorAll('input[name="Input.Therapist"]').forEach(function (radio) {
                if (radio.value === now && !radio.disabled) {
                  radio.checked = true;
                  adopted.setAttribute("data-selected", now);
                }
              });
            }
            announce(adopted);
          }
        })
        .catch(function () { /* the list on the page stays; Review ranks again on the server */ })
        .finally(function () {
          var still = currentList();
          if (still) {
            still.removeAttribute("aria-busy");
          }
        });
    }

    form.addEventListener("change", function (event) {
      if (event.target && event.target.name === "Input.Therapist") {
        picked = true;
      }
      if (event.target && watched.indexOf(event.target.name) >= 0) {
        refresh();
      }
    });
  });
})();
