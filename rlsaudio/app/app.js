/* The app's page: make a session, build it, the library, the phone, the diary. Everything goes
   through the JSON API on the same origin; the access key travels in the HttpOnly cookie. */
(function () {
  "use strict";

  function $(id) { return document.getElementById(id); }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var k in (attrs || {})) { node.setAttribute(k, attrs[k]); }
    if (text != null) { node.textContent = text; }
    return node;
  }
  function svgEl(tag, attrs) {
    var node = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (var k in attrs) { node.setAttribute(k, attrs[k]); }
    return node;
  }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function clock(s) {
    s = Math.max(0, Math.round(s));
    var h = Math.floor(s / 3600), m = Math.floor(s % 3600 / 60);
    return (h ? h + ":" + pad(m) : m) + ":" + pad(s % 60);
  }
  function words(s) {
    s = Math.round(s);
    var m = Math.floor(s / 60), r = s % 60;
    return (m ? m + " min" : "") + (m && r ? " " : "") + (r || !m ? r + " s" : "");
  }
  function norm(t) { return String(t || "").toLowerCase().replace(/[^a-z0-9]/g, ""); }

  /* JSON to and from the API: {ok, status, data}; never throws. */
  function api(method, path, body, raw) {
    var opts = { method: method, credentials: "same-origin", headers: {} };
    if (body !== undefined) {
      opts.body = raw ? body : JSON.stringify(body);
      opts.headers["Content-Type"] = raw ? "application/octet-stream" : "application/json";
    }
    return fetch(path, opts).then(function (r) {
      return r.text().then(function (t) {
        var data = null;
        try { data = t ? JSON.parse(t) : null; } catch (e) { data = { error: t.trim() }; }
        return { ok: r.ok, status: r.status, data: data };
      });
    }, function () { return { ok: false, status: 0, data: { error: "The app is not answering: is it still running?" } }; });
  }

  // The key came in the address (a first visit): the cookie now holds it, so drop it from the bar.
  if (/[?&]key=/.test(location.search)) { history.replaceState(null, "", location.pathname + location.hash); }

  // ------------------------------------------------------------------ theme and tabs

  var root = document.documentElement;
  function showTheme() {
    var dark = root.getAttribute("data-theme") === "dark";
    $("theme").setAttribute("aria-label", dark ? "Switch to the light theme" : "Switch to the dark theme");
  }
  $("theme").addEventListener("click", function () {
    var next = root.getAttribute("data-theme") === "dark" ? "light" : "dark";
    root.setAttribute("data-theme", next);
    try { localStorage.setItem("rlsaudio-theme", next); } catch (e) {}
    showTheme();
  });
  if (window.matchMedia) {
    matchMedia("(prefers-color-scheme: dark)").addEventListener("change", function (e) {
      var saved = null;
      try { saved = localStorage.getItem("rlsaudio-theme"); } catch (err) {}
      if (!saved) { root.setAttribute("data-theme", e.matches ? "dark" : "light"); showTheme(); }
    });
  }
  showTheme();

  var tabs = Array.prototype.slice.call(document.querySelectorAll("[role=tab]"));
  function openTab(tab, focus) {
    tabs.forEach(function (t) {
      var on = t === tab;
      t.setAttribute("aria-selected", on ? "true" : "false");
      t.tabIndex = on ? 0 : -1;
      $(t.getAttribute("aria-controls")).hidden = !on;
    });
    if (focus) { tab.focus(); }
    var id = tab.getAttribute("aria-controls");
    if (id === "library" || id === "phone") { loadTracks(); }
    if (id === "phone") { loadPhone(); }
    if (id === "diary") { loadDiary(); }
    if (location.hash !== "#" + id) { history.replaceState(null, "", "#" + id); }
  }
  tabs.forEach(function (t, i) {
    t.addEventListener("click", function () { openTab(t); });
    t.addEventListener("keydown", function (e) {
      var step = e.key === "ArrowRight" ? 1 : e.key === "ArrowLeft" ? -1 : 0;
      if (step) { e.preventDefault(); openTab(tabs[(i + step + tabs.length) % tabs.length], true); }
    });
  });

  // ------------------------------------------------------------------ points and figures

  var library = { points: [], figures: {} };
  var chosen = [];          // codes, in order
  var selected = null;      // the point shown in the detail box

  function pointByCode(code) {
    for (var i = 0; i < library.points.length; i++) { if (library.points[i].code === code) { return library.points[i]; } }
    return null;
  }

  function drawFigure() {
    var name = $("figure-choice").value, figure = library.figures[name], box = $("figure");
    box.innerHTML = figure ? figure.svg : "";
    var svg = box.querySelector("svg");
    if (!svg) { return; }
    svg.removeAttribute("hidden");
    var marks = svg.querySelector(".marks");
    var r = Math.max(6, figure.viewbox[2] / 28);
    library.points.forEach(function (p) {
      if (p.figure !== name) { return; }
      Object.keys(p.positions).forEach(function (side) {
        var xy = p.positions[side];
        var c = svgEl("circle", { "class": "mark", cx: xy[0], cy: xy[1], r: r, tabindex: "0", role: "button",
          "data-code": p.code, "aria-label": p.code + ", " + p.spoken + (side !== "at" ? " (" + side + " side)" : "") });
        var title = svgEl("title", {});
        title.textContent = p.code + ": " + p.spoken;
        c.appendChild(title);
        c.addEventListener("click", function () { select(p.code); });
        c.addEventListener("keydown", function (e) {
          if (e.key === "Enter" || e.key === " ") { e.preventDefault(); select(p.code); }
        });
        marks.appendChild(c);
      });
    });
    markState();
  }

  function markState() {
    Array.prototype.forEach.call(document.querySelectorAll("#figure .mark"), function (m) {
      var code = m.getAttribute("data-code");
      m.classList.toggle("chosen", chosen.indexOf(code) >= 0);
      m.classList.toggle("selected", code === selected);
    });
    Array.prototype.forEach.call(document.querySelectorAll("#point-list button"), function (b) {
      b.setAttribute("aria-pressed", b.getAttribute("data-code") === selected ? "true" : "false");
    });
  }

  function listPoints() {
    var q = norm($("point-search").value), list = $("point-list");
    list.textContent = "";
    library.points.forEach(function (p) {
      var hay = [p.code, p.spoken, p.name, p.region, p.kind].concat(p.aliases).map(norm).join(" ");
      if (q && hay.indexOf(q) < 0) { return; }
      var b = el("button", { type: "button", "data-code": p.code });
      b.appendChild(el("span", { "class": "code" }, p.code));
      b.appendChild(document.createTextNode(p.spoken + " \u00b7 " + p.region));
      b.addEventListener("click", function () { select(p.code); });
      var li = el("li");
      li.appendChild(b);
      list.appendChild(li);
    });
    markState();
  }

  function select(code) {
    var p = pointByCode(code);
    if (!p) { return; }
    selected = code;
    if (p.figure && $("figure-choice").value !== p.figure) { $("figure-choice").value = p.figure; drawFigure(); }
    $("point-detail").hidden = false;
    $("detail-name").textContent = p.code + ": " + p.spoken + (p.name ? " (" + p.name + ")" : "");
    $("detail-location").textContent = p.region + ". " + p.location;
    $("detail-find").textContent = p.find;
    var box = $("detail-cautions");
    box.textContent = "";
    p.cautions.forEach(function (c) { box.appendChild(el("p", {}, "Caution: " + c.text)); });
    box.hidden = !p.cautions.length;
    var added = chosen.indexOf(code) >= 0;
    $("add-point").textContent = added ? p.code + " is in your session" : "Add " + p.code;
    $("add-point").disabled = added;
    markState();
  }

  $("add-point").addEventListener("click", function () {
    if (selected && chosen.indexOf(selected) < 0) { chosen.push(selected); showChosen(); select(selected); changed(); }
  });

  function showChosen() {
    var ol = $("chosen");
    ol.textContent = "";
    chosen.forEach(function (code) {
      var p = pointByCode(code), li = el("li", {}, code + ": " + (p ? p.spoken : ""));
      var rm = el("button", { type: "button", "aria-label": "Remove " + code }, "Remove");
      rm.addEventListener("click", function () {
        chosen.splice(chosen.indexOf(code), 1);
        showChosen();
        if (selected) { select(selected); }
        changed();
      });
      li.appendChild(rm);
      ol.appendChild(li);
    });
    $("no-points").hidden = chosen.length > 0;
    markState();
  }

  $("point-search").addEventListener("input", listPoints);
  $("figure-choice").addEventListener("change", drawFigure);

  // ------------------------------------------------------------------ settings and the plan

  function start() { return document.querySelector("input[name=start]:checked").value; }
  var upload = null;

  function settings() {
    var s = { mode: $("mode").value, format: $("format").value, pacer: $("pacer").value };
    if ($("voice").value) { s.voice = $("voice").value; }
    if ($("soundscape").value) { s.soundscape = $("soundscape").value; }
    var how = start();
    if (how === "points") {
      s.points = chosen.slice();
      if ($("title").value.trim()) { s.title = $("title").value.trim(); }
      if ($("breathe").checked) { s.breathe = true; }
      if (!$("fit").checked && $("hold").value) { s.hold = $("hold").value; }
    } else if (how === "routine") {
      s.routine = $("routine").value;
    } else if (upload) {
      s.upload = upload.id;
    }
    if ($("fit").checked) { s.length = $("length").value + "s"; }
    return s;
  }

  function ready() {
    var how = start();
    return how === "points" ? chosen.length > 0 : how === "routine" ? !!$("routine").value : !!upload;
  }

  function showLength() { $("length-out").value = clock(+$("length").value); }

  var planSeq = 0, planTimer = 0;
  function changed() {
    var how = start();
    $("from-points").hidden = how !== "points";
    $("from-routine").hidden = how !== "routine";
    $("from-upload").hidden = how !== "upload";
    $("hold-row").hidden = how !== "points" || $("fit").checked;
    $("title-label").hidden = how !== "points";
    $("breathe-label").hidden = how !== "points";
    $("length").disabled = !$("fit").checked;
    showLength();
    $("build").disabled = !ready();
    clearTimeout(planTimer);
    planTimer = setTimeout(plan, 250);
  }

  function plan() {
    var seq = ++planSeq;
    if (!ready()) {
      $("plan-summary").textContent = start() === "points" ? "Add a point to see the plan." : "Choose what to start from to see the plan.";
      $("plan-chapters").textContent = "";
      $("plan-error").hidden = true;
      $("plan-cautions").hidden = true;
      return;
    }
    var s = settings();
    $("plan-summary").textContent = "Planning\u2026";
    var quick = Object.assign({ estimate: true, details: true }, s);
    api("POST", "/api/plan", quick).then(function (r) {
      if (seq !== planSeq) { return; }
      showPlan(r, true);
      if (!r.ok) { return; }
      api("POST", "/api/plan", Object.assign({ details: true }, s)).then(function (exact) {
        if (seq === planSeq) { showPlan(exact, false); }
      });
    });
  }

  function setRange(range) {
    if (!range) { return; }
    var slider = $("length"), lo = Math.ceil(range.min / 30) * 30, hi = Math.floor(range.max / 30) * 30;
    if (hi < lo) { hi = lo; }
    slider.min = lo;
    slider.max = hi;
    $("length-range").textContent = "This session can last from " + words(range.min) + " to " + words(range.max) + ".";
  }

  function showPlan(r, estimated) {
    var d = r.data || {};
    setRange(d.range);
    if (!r.ok) {
      $("plan-error").hidden = false;
      var text = d.error || "The plan failed.";
      if (r.status === 422 && d.range) {
        var want = +$("length").value;
        text = (want < d.range.min ? "That is too short" : "That is too long") + " for this session: it can last from " +
          words(d.range.min) + " to " + words(d.range.max) + ". Move the slider into that range. (" + text + ")";
      }
      $("plan-error").textContent = text;
      $("plan-summary").textContent = "";
      $("plan-chapters").textContent = "";
      $("plan-cautions").hidden = true;
      $("build").disabled = true;
      return;
    }
    $("plan-error").hidden = true;
    $("build").disabled = false;
    var p = d.plan;
    $("plan-summary").textContent = d.title + ": " + clock(p.duration) + " with the " + d.voice + " voice, " +
      p.chapters.length + " chapters" + (estimated ? " (times approximate\u2026)" : "") +
      (d.warnings && d.warnings.length ? ". Note: " + d.warnings.join(" ") : "");
    var ol = $("plan-chapters");
    ol.textContent = "";
    p.chapters.forEach(function (c) {
      var li = el("li");
      li.appendChild(el("span", { "class": "t" }, clock(c.start)));
      li.appendChild(el("span", {}, c.title));
      ol.appendChild(li);
    });
    var box = $("plan-cautions");
    box.textContent = "";
    Object.keys(d.cautions || {}).forEach(function (code) {
      d.cautions[code].forEach(function (t) { box.appendChild(el("p", {}, code + ": " + t)); });
    });
    box.hidden = !box.childNodes.length;
  }

  ["mode", "voice", "soundscape", "pacer", "format", "routine", "hold"].forEach(function (id) {
    $(id).addEventListener("change", changed);
  });
  $("title").addEventListener("change", changed);
  $("breathe").addEventListener("change", changed);
  $("fit").addEventListener("change", changed);
  $("length").addEventListener("input", showLength);
  $("length").addEventListener("change", changed);
  Array.prototype.forEach.call(document.querySelectorAll("input[name=start]"), function (r) {
    r.addEventListener("change", changed);
  });
  $("routine").addEventListener("change", function () {
    var o = $("routine").selectedOptions[0];
    $("routine-about").textContent = o ? o.getAttribute("data-about") : "";
  });

  $("voice-sample").addEventListener("click", function () {
    var a = $("sample-audio");
    a.src = "/api/voices/" + encodeURIComponent($("voice").value) + "/sample";
    a.play().catch(function () {});
  });

  $("upload").addEventListener("change", function () {
    var file = $("upload").files[0];
    upload = null;
    $("upload-errors").hidden = true;
    $("upload-result").textContent = "";
    if (!file) { changed(); return; }
    file.arrayBuffer().then(function (buf) {
      return api("POST", "/api/uploads?name=" + encodeURIComponent(file.name), buf, true);
    }).then(function (r) {
      if (r.ok) {
        upload = r.data;
        $("upload-result").textContent = "\u201c" + r.data.title + "\u201d is ready (" + r.data.kind + ").";
      } else {
        $("upload-errors").hidden = false;
        $("upload-errors").textContent = (r.data && r.data.error) || "The file could not be read.";
      }
      changed();
    });
  });

  // ------------------------------------------------------------------ building

  var job = null;
  $("build").addEventListener("click", function () {
    if (!ready()) { return; }
    $("build-error").hidden = true;
    $("build").disabled = true;
    api("POST", "/api/builds", settings()).then(function (r) {
      if (!r.ok) {
        $("build").disabled = false;
        $("build-error").hidden = false;
        $("build-error").textContent = r.data.error;
        return;
      }
      job = r.data.id;
      $("progress-box").hidden = false;
      $("progress").value = 0;
      $("progress-text").textContent = "Waiting\u2026";
      poll(job);
    });
  });

  function poll(id) {
    api("GET", "/api/builds/" + id).then(function (r) {
      if (id !== job) { return; }
      var d = r.data || {};
      if (!r.ok) { d = { state: "failed", error: d.error }; }
      $("progress").value = d.progress || 0;
      var pct = Math.round((d.progress || 0) * 100) + "%";
      if (d.state === "queued") { $("progress-text").textContent = "Waiting for another build\u2026"; }
      else if (d.state === "running") { $("progress-text").textContent = "Building\u2026 " + pct; }
      if (d.state === "queued" || d.state === "running") { setTimeout(function () { poll(id); }, 400); return; }
      job = null;
      $("build").disabled = false;
      if (d.state === "done") {
        $("progress-text").textContent = "Done. Opening its page\u2026";
        location.assign(d.page || d.track);
        return;
      }
      $("progress-box").hidden = true;
      if (d.state === "failed") {
        $("build-error").hidden = false;
        $("build-error").textContent = d.error || "The build failed.";
      } else {
        $("plan-summary").textContent = "Cancelled: nothing was written.";
      }
    });
  }

  $("cancel").addEventListener("click", function () {
    if (job) { api("DELETE", "/api/builds/" + job); }
  });

  // ------------------------------------------------------------------ library and phone

  var tracks = [];
  function loadTracks() {
    return api("GET", "/api/tracks").then(function (r) {
      tracks = r.ok ? r.data : [];
      showTracks();
    });
  }

  function link(href, text, attrs) {
    var a = el("a", attrs || {}, text);
    a.href = href;
    return a;
  }

  function showTracks() {
    var ul = $("tracks");
    ul.textContent = "";
    $("library-empty").hidden = tracks.length > 0;
    tracks.forEach(function (t) {
      var li = el("li", { "data-name": t.name });
      li.appendChild(el("p", { "class": "title" }, t.title));
      var date = t.date.replace("T", " ");
      li.appendChild(el("p", { "class": "facts" }, [clock(t.length), t.mode || "mode unknown", t.voice ? t.voice + " voice" : "voice unknown",
        t.format.toUpperCase(), date].join(" \u00b7 ")));
      var actions = el("div", { "class": "actions" });
      if (t.page) { actions.appendChild(link(t.page, "Play", { "class": "play" })); }
      actions.appendChild(link(t.audio, "Download", { download: "" }));
      if (t.routine_file) {
        actions.appendChild(link("/api/routine-files/" + encodeURIComponent(t.name).replace(/%2F/g, "/"), "Routine file", { download: "" }));
      }
      var del = el("button", { type: "button", "class": "delete" }, "Delete");
      del.addEventListener("click", function () { askDelete(t); });
      actions.appendChild(del);
      li.appendChild(actions);
      ul.appendChild(li);
    });
    var phone = $("phone-tracks");
    phone.textContent = "";
    tracks.forEach(function (t) {
      var li = el("li");
      li.appendChild(el("span", {}, t.title + " (" + t.format.toUpperCase() + ", " + clock(t.length) + ")"));
      li.appendChild(link(t.audio, "Download", { download: "" }));
      phone.appendChild(li);
    });
    if (!tracks.length) { phone.appendChild(el("li", { "class": "muted" }, "No tracks yet.")); }
  }

  function askDelete(t) {
    var dialog = $("confirm-delete");
    $("confirm-text").textContent = "Delete \u201c" + t.title + "\u201d and its page? This cannot be undone.";
    $("confirm-routine").checked = false;
    $("confirm-routine-label").hidden = !t.routine_file;
    dialog.returnValue = "";
    dialog.onclose = function () {
      if (dialog.returnValue !== "delete") { return; }
      var q = $("confirm-routine").checked ? "?routine=1" : "";
      api("DELETE", "/api/tracks/" + encodeURIComponent(t.name).replace(/%2F/g, "/") + q).then(loadTracks);
    };
    dialog.showModal();
  }

  function loadPhone() {
    api("GET", "/api/phone").then(function (r) {
      if (!r.ok) { return; }
      $("qr").innerHTML = r.data.qr || "";
      $("phone-how").textContent = r.data.lan ?
        "Scan this with the phone's camera (on the same Wi-Fi) to open the app there." :
        "To use the app on your phone, stop it and start it again with: rlsaudio app --lan (then scan the code shown here).";
      $("feed").href = r.data.feed;
      $("feed").textContent = r.data.feed;
    });
  }
  $("copy-feed").addEventListener("click", function () {
    if (navigator.clipboard) { navigator.clipboard.writeText($("feed").textContent).catch(function () {}); }
  });

  // ------------------------------------------------------------------ the diary

  var diaryLoaded = false;
  function loadDiary() {
    return api("GET", "/api/diary").then(function (r) {
      if (!r.ok) { $("d-result").textContent = (r.data && r.data.error) || "The diary could not be opened."; return; }
      $("d-chart").innerHTML = r.data.chart;
      if (diaryLoaded) { return; }
      diaryLoaded = true;
      $("d-date").value = r.data.last_night;
      $("d-date").max = r.data.last_night;
      var box = $("d-factors");
      r.data.factors.forEach(function (f) {
        var label = el("label");
        label.appendChild(el("input", { type: "checkbox", value: f.name, "class": "factor" }));
        label.appendChild(document.createTextNode(f.label));
        box.appendChild(label);
      });
    });
  }
  ["restless", "sleep"].forEach(function (k) {
    $("d-" + k).addEventListener("input", function () {
      $("d-" + k + "-out").value = $("d-" + k).value;
      $("d-" + k + "-set").checked = true;
    });
  });
  $("tonight").addEventListener("submit", function (e) {
    e.preventDefault();
    var body = { date: $("d-date").value };
    if ($("d-restless-set").checked) { body.restless = +$("d-restless").value; }
    if ($("d-sleep-set").checked) { body.sleep = +$("d-sleep").value; }
    if ($("d-minutes").value !== "") { body.minutes_to_sleep = +$("d-minutes").value; }
    if ($("d-woke").value !== "") { body.woke = +$("d-woke").value; }
    if ($("d-onset").value) { body.onset = $("d-onset").value; }
    var titles = $("d-tracks").value.split("\n").map(function (t) { return t.trim(); }).filter(Boolean);
    if (titles.length) { body.tracks = titles; }
    var factors = Array.prototype.filter.call(document.querySelectorAll(".factor"), function (c) { return c.checked; })
      .map(function (c) { return c.value; });
    if (factors.length) { body.factors = factors; }
    if ($("d-note").value.trim()) { body.note = $("d-note").value.trim(); }
    api("POST", "/api/diary", body).then(function (r) {
      if (!r.ok) { $("d-result").textContent = r.data.error; return; }
      var n = r.data.changes.length;
      $("d-result").textContent = "Saved the night of " + r.data.entry.date + (n ? " (" + n + " change" + (n > 1 ? "s" : "") + ")." : " (nothing changed).");
      loadDiary();
    });
  });

  // ------------------------------------------------------------------ start

  Promise.all([api("GET", "/api/points"), api("GET", "/api/voices"), api("GET", "/api/routines")]).then(function (rs) {
    if (rs[0].ok) { library = rs[0].data; }
    var figs = $("figure-choice");
    Object.keys(library.figures).forEach(function (name) {
      if (library.points.some(function (p) { return p.figure === name; })) {
        figs.appendChild(el("option", { value: name }, library.figures[name].title));
      }
    });
    var voice = $("voice");
    (rs[1].ok ? rs[1].data : []).forEach(function (v) {
      var o = el("option", { value: v.name }, v.name + (v.available ? "" : " (cannot run here: " + v.reason + ")"));
      if (!v.available) { o.disabled = true; }
      if (v.default) { o.selected = true; }
      voice.appendChild(o);
    });
    (rs[2].ok ? rs[2].data : []).forEach(function (r) {
      $("routine").appendChild(el("option", { value: r.id, "data-about": r.description }, r.title));
    });
    $("routine-about").textContent = $("routine").selectedOptions[0] ? $("routine").selectedOptions[0].getAttribute("data-about") : "";
    drawFigure();
    listPoints();
    showChosen();
    changed();
    var wanted = location.hash.slice(1);
    tabs.forEach(function (t) { if (t.getAttribute("aria-controls") === wanted) { openTab(t); } });
    root.setAttribute("data-ready", "true");
  });
})();
