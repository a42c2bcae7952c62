/* Eligibility rule editor: show each row's settings for its criterion, add and remove rows in the
   page, and a live preview (the draft is posted to the preview endpoint; nothing is saved).
   Without this script the form still works: Add, Remove and Preview re-render the page. */
(function () {
  "use strict";

  var form = document.getElementById("rule-form");
  var rows = document.getElementById("rule-rows");
  var template = document.getElementById("rule-row-template");
  var preview = document.getElementById("rule-preview");
  var body = document.getElementById("rule-preview-body");
  if (!form || !rows || !template || !preview || !body || !window.fetch) {
    return;
  }
  var tokenMeta = document.querySelector('meta[name="csrf-token"]');
  var token = tokenMeta ? tokenMeta.getAttribute("content") : "";
  var text = preview.dataset;
  var timer = null;
  var sequence = 0;

  function showParams(row) {
    var select = row.querySelector(".rule-criterion");
    var criterion = select ? select.value : "";
    row.querySelectorAll(".rule-params").forEach(function (group) {
      group.hidden = group.getAttribute("data-for") !== criterion;
    });
  }

  function renumber() {
    rows.querySelectorAll(".rule-row").forEach(function (row, i) {
      var number = row.querySelector(".rule-number");
      if (number) {
        number.textContent = String(i + 1);
      }
    });
    var none = document.getElementById("no-rules");
    if (none) {
      none.hidden = rows.querySelector(".rule-row") !== null;
    }
  }

  function addRow() {
    var next = parseInt(rows.getAttribute("data-next") || "0", 10);
    rows.setAttribute("data-next", String(next + 1));
    var html = template.innerHTML.split("__index__").join(String(next));
    var holder = document.createElement("div");
    holder.innerHTML = html;
    var row = holder.querySelector(".rule-row");
    rows.appendChild(row);
    showParams(row);
    renumber();
    var select = row.querySelector(".rule-criterion");
    if (select) {
      select.focus();
    }
    schedule();
  }

  function element(tag, content, className) {
    var node = document.createElement(tag);
    if (content) {
      node.textContent = content;
    }
    if (className) {
      node.className = className;
    }
    return node;
  }

  function list(items) {
    var ul = element("ul");
    items.forEach(function (item) {
      ul.appendChild(element("li", item));
    });
    return ul;
  }

  function render(data) {
    body.textContent = "";
    if (data.requirements.length) {
      body.appendChild(element("h3", text.textRequirements));
      body.appendChild(list(data.requirements));
    }
    if (data.exclusions.length) {
      body.appendChild(element("h3", text.textExclusions));
      body.appendChild(list(data.exclusions));
    }
    if (!data.requirements.length && !data.exclusions.length) {
      body.appendChild(element("p", text.textNone));
    }
    data.problems.forEach(function (problem) {
      var label = text.textRule.replace("{n}", String(problem.row));
      body.appendChild(element("p", label + ": " + problem.messages.join(" "), "error"));
    });
    (data.facts_problems || []).forEach(function (message) {
      body.appendChild(element("p", message, "error"));
    });
    if (data.verdict) {
      var line = element("p");
      line.appendChild(element("strong", text.textSample + ":"));
      line.appendChild(document.createTextNode(" "));
      line.appendChild(element("span", data.verdict.label, "verdict-" + data.verdict.status));
      body.appendChild(line);
      body.appendChild(list(data.verdict.lines));
    }
  }

  function update() {
    var mine = ++sequence;
    fetch(form.getAttribute("data-preview-url"), {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      headers: { "X-CSRFToken": token, "Accept": "application/json" }
    })
      .then(function (response) {
        if (!response.ok) {
          throw new Error(String(response.status));
        }
        return response.json();
      })
      .then(function (data) {
        if (mine === sequence) {
          render(data);
        }
      })
      .catch(function () {
        if (mine === sequence) {
          body.textContent = "";
          body.appendChild(element("p", text.textFailed, "error"));
        }
      });
  }

  function schedule() {
    window.clearTimeout(timer);
    timer = window.setTimeout(update, 300);
  }

  form.addEventListener("click", function (event) {
    var button = event.target.closest("button");
    if (!button) {
      return;
    }
    if (button.name === "action" && button.value === "add") {
      event.preventDefault();
      addRow();
    } else if (button.name === "remove") {
      event.preventDefault();
      var row = button.closest(".rule-row");
      if (row) {
        row.remove();
        renumber();
        schedule();
      }
    }
  });

  form.addEventListener("change", function (event) {
    if (event.target.classList.contains("rule-criterion")) {
      showParams(event.target.closest(".rule-row"));
    }
    schedule();
  });
  form.addEventListener("input", schedule);

  rows.querySelectorAll(".rule-row").forEach(showParams);
  renumber();
  update();
})();
