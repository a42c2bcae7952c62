/* Search page: the client situation form is drawn only when its panel is opened. Without this script
   the panel holds a link that reloads the page with the form; with it, opening the panel fetches the
   form's fields into the search form. */
(function () {
  "use strict";

  var panel = document.querySelector("details.facts-panel[data-fields-url]");
  if (!panel || !window.fetch) {
    return;
  }
  var later = panel.querySelector(".facts-later");
  var link = later ? later.querySelector("a") : null;
  var started = false;

  function load() {
    if (!panel.open || started || !later) {
      return;
    }
    started = true;
    panel.setAttribute("aria-busy", "true");
    fetch(panel.getAttribute("data-fields-url"), { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.text();
      })
      .then(function (html) {
        var holder = document.createElement("template");
        holder.innerHTML = html;
        later.replaceWith(holder.content);
        panel.removeAttribute("data-fields-url");
        panel.removeAttribute("aria-busy");
      })
      .catch(function () {
        if (link) {
          window.location.assign(link.href);  // the page drawn with the form
        }
      });
  }

  panel.addEventListener("toggle", load);
  load();  // opened before the script ran
})();
