// The rule editor (/ui/rules/edit): checks the file as it is typed, shows
// each problem at its line and column beside the text, keeps the line
// numbers beside the text, and puts the cursor on a problem when it is
// clicked. Without this script the page checks with its "Проверить"
// button.
"use strict";

(function () {
  var ta = document.querySelector("textarea[data-rules-check]");
  if (!ta) {
    return;
  }
  var form = ta.form;
  var list = document.getElementById("problems");
  var okNote = document.getElementById("no-problems");
  var notChecked = document.getElementById("not-checked");
  var status = document.getElementById("check-status");
  var gutter = document.getElementById("gutter");
  var timer = null;
  var seq = 0;
  var bad = {};

  function drawGutter() {
    var n = ta.value.split("\n").length;
    var frag = document.createDocumentFragment();
    for (var i = 1; i <= n; i++) {
      var s = document.createElement("span");
      s.textContent = String(i);
      if (bad[i]) {
        s.className = "bad";
      }
      frag.appendChild(s);
      frag.appendChild(document.createTextNode("\n"));
    }
    gutter.textContent = "";
    gutter.appendChild(frag);
    gutter.scrollTop = ta.scrollTop;
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) {
      e.className = cls;
    }
    if (text !== undefined) {
      e.textContent = text;
    }
    return e;
  }

  function show(res) {
    var file = form.elements.file.value;
    var problems = (res && res.problems) || [];
    list.textContent = "";
    bad = {};
    problems.forEach(function (p) {
      var li = el("li");
      li.setAttribute("data-line", p.line || 0);
      li.setAttribute("data-col", p.column || 0);
      li.setAttribute("data-file", p.file || "");
      var where = [];
      if (p.line) {
        where.push("строка " + p.line + ", столбец " + p.column);
      }
      if (p.file && p.file !== file) {
        where.push("файл " + p.file);
      }
      if (p.rule) {
        where.push("правило " + p.rule);
      }
      if (p.format) {
        where.push("формат " + p.format);
      }
      li.appendChild(el("div", "where", where.join(" · ")));
      li.appendChild(el("div", "msg", p.message));
      if (p.snippet) {
        li.appendChild(el("pre", "snippet", p.snippet));
      }
      list.appendChild(li);
      if (p.file === file && p.line) {
        bad[p.line] = true;
      }
    });
    if (res && !res.ok && problems.length === 0 && res.error) {
      list.appendChild(el("li", "", res.error));
    }
    okNote.hidden = !(res && res.ok);
    if (notChecked) {
      notChecked.hidden = true;
    }
    status.textContent = res && res.ok ? "Ошибок нет" : "Найдено ошибок: " + Math.max(problems.length, 1);
    drawGutter();
  }

  function check() {
    var mine = ++seq;
    var body = new URLSearchParams();
    body.set("csrf", form.elements.csrf.value);
    body.set("file", form.elements.file.value);
    body.set("text", ta.value);
    status.textContent = "Проверяю…";
    fetch(ta.getAttribute("data-rules-check"), { method: "POST", body: body, credentials: "same-origin" })
      .then(function (r) {
        return r.json();
      })
      .then(function (res) {
        if (mine === seq) {
          show(res);
        }
      })
      .catch(function () {
        if (mine === seq) {
          status.textContent = "Не удалось проверить: обновите страницу или нажмите «Проверить»";
        }
      });
  }

  // Puts the cursor at line:col (1-based, in characters) and scrolls to it.
  function jump(line, col) {
    var lines = ta.value.split("\n");
    var pos = 0;
    for (var i = 0; i < line - 1 && i < lines.length; i++) {
      pos += lines[i].length + 1;
    }
    pos += Math.max(col - 1, 0);
    ta.focus();
    ta.setSelectionRange(pos, pos + 1);
    var lh = parseFloat(window.getComputedStyle(ta).lineHeight) || 18;
    ta.scrollTop = Math.max(0, (line - 4) * lh);
    gutter.scrollTop = ta.scrollTop;
  }

  ta.addEventListener("input", function () {
    drawGutter();
    clearTimeout(timer);
    timer = setTimeout(check, 400);
  });
  ta.addEventListener("scroll", function () {
    gutter.scrollTop = ta.scrollTop;
  });
  list.addEventListener("click", function (ev) {
    var li = ev.target.closest("li[data-line]");
    if (li && li.getAttribute("data-file") === form.elements.file.value && +li.getAttribute("data-line") > 0) {
      jump(+li.getAttribute("data-line"), +li.getAttribute("data-col"));
    }
  });
  Array.prototype.forEach.call(gutter.querySelectorAll("span.bad"), function (s) {
    bad[+s.textContent] = true;
  });
})();
