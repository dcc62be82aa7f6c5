/* The listen-along page: shows, at every moment of the track, what the timeline says is
   happening. Times are seconds of the track; the audio element's currentTime is that time. */
(function () {
  "use strict";

  var D = JSON.parse(document.getElementById("page-data").textContent);
  var T = D.timeline;
  var chapters = T.chapters || [];
  var spans = T.spans || [];
  var duration = T.duration || 0;
  var speech = (T.events || []).filter(function (e) { return e.kind === "speech"; })
    .map(function (e) { return { start: e.start, end: e.start + e.duration, text: e.text }; });
  var KIND = { hold: "Hold", massage: "Massage", rest: "Rest", breath: "Breathe", ready: "Get ready", pause: "Pause" };
  var CUED = { hold: 1, massage: 1, rest: 1, breath: 1, ready: 1 };  // spans whose start and end are cues
  var SIDE = { right: "Right side", left: "Left side" };
  var RING = 2 * Math.PI * 54;

  function $(id) { return document.getElementById(id); }
  var audio = $("audio");
  var root = document.documentElement;
  var now = 0;           // the moment shown, in seconds of the track
  var playing = false;
  var frame = 0;
  var lastTick = null;   // for vibration: the time of the previous frame while playing
  var shown = {};        // what is on screen, so only changes touch the DOM

  // ------------------------------------------------------------------ time helpers

  /* Index of the last item whose start is at or before t, or -1. */
  function lastAt(list, t) {
    var lo = 0, hi = list.length - 1, found = -1;
    while (lo <= hi) {
      var mid = (lo + hi) >> 1;
      if (list[mid].start <= t) { found = mid; lo = mid + 1; } else { hi = mid - 1; }
    }
    return found;
  }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function clock(seconds) {
    var s = Math.max(0, Math.floor(seconds + 1e-6));
    var h = Math.floor(s / 3600), m = Math.floor(s % 3600 / 60);
    return (h ? h + ":" + pad(m) : m) + ":" + pad(s % 60);
  }
  /* A countdown shows whole seconds left, rounded up: it reads 0:00 only when the span ends. */
  function countdown(left) {
    var s = Math.max(0, Math.ceil(left - 1e-6));
    return Math.floor(s / 60) + ":" + pad(s % 60);
  }
  function parseTime(text) {
    var parts = text.trim().split(":");
    if (!parts.length || parts.length > 3) { return null; }
    var total = 0;
    for (var i = 0; i < parts.length; i++) {
      var last = i === parts.length - 1;
      if (!(last ? /^\d+(\.\d+)?$/ : /^\d+$/).test(parts[i])) { return null; }
      total = total * 60 + parseFloat(parts[i]);
    }
    return total;
  }
  /* A moment from the address: "#t=12:30", "#t=1:02:03", "#t=750" or "#t=750.5"; or a step,
     "#step=5" (the fifth in the list) or "#point=SP6" (the first step on that point;
     "#point=SP6&side=left" its left side), which stay right whatever voice made the track. */
  function hashTime() {
    var params = {};
    location.hash.replace(/^#/, "").split("&").forEach(function (part) {
      var kv = part.split("=");
      if (kv.length === 2) {
        try { params[kv[0]] = decodeURIComponent(kv[1]); } catch (err) { /* ignore a broken part */ }
      }
    });
    if (params.t !== undefined) { return parseTime(params.t); }
    if (params.step !== undefined && /^\d+$/.test(params.step)) {
      var c = chapters[parseInt(params.step, 10) - 1];
      return c ? c.start : null;
    }
    if (params.point !== undefined) {
      var want = params.point.toLowerCase().replace(/[^a-z0-9]/g, "");
      var codes = D.chapter_points || [];
      for (var i = 0; i < chapters.length; i++) {
        if (codes[i] && codes[i].toLowerCase().replace(/[^a-z0-9]/g, "") === want &&
            (!params.side || chapters[i].side === params.side)) { return chapters[i].start; }
      }
    }
    return null;
  }

  // ------------------------------------------------------------------ the state at a moment

  /* The breathing phase of a span at t: its pattern starts at the span's start and runs for
     whole cycles only (the pacer says nothing after the last whole cycle). */
  function breathing(span, t) {
    if (!span || !span.inhale) { return null; }
    var cycle = span.inhale + span.exhale;
    var cycles = Math.floor((span.end - span.start) / cycle + 1e-9);
    var into = t - span.start;
    if (into < 0 || into >= cycles * cycle) { return null; }
    var at = into - Math.floor(into / cycle + 1e-9) * cycle;
    if (at < span.inhale) { return { phase: "in", progress: at / span.inhale, left: span.inhale - at }; }
    return { phase: "out", progress: 1 - (at - span.inhale) / span.exhale, left: cycle - at };
  }

  function stateAt(t) {
    var ci = Math.max(0, lastAt(chapters, t));
    var chapter = chapters[ci] || null;
    var si = lastAt(spans, t);
    var span = si >= 0 && t < spans[si].end ? spans[si] : null;
    var ei = lastAt(speech, t);
    var sentence = null, past = false;
    if (ei >= 0) {
      var e = speech[ei];
      // Between sentences the last one stays, dimmed; inside a hold, rest or breathing span
      // only what is being said shows (the countdown says the rest).
      if (t < e.end) { sentence = e; } else if (!span && chapter && e.start >= chapter.start) { sentence = e; past = true; }
    }
    var code = (D.chapter_points || [])[ci] || "";
    var point = code ? D.points[code] : null;
    var side = (span && span.side) || (chapter && chapter.side) || "";
    if (!side && point && (point.laterality === "left" || point.laterality === "right")) { side = point.laterality; }
    return { t: t, ci: ci, chapter: chapter, span: span, sentence: sentence, past: past, point: point, side: side,
             breath: breathing(span, t) };
  }

  // ------------------------------------------------------------------ drawing

  function setText(el, text) { if (el.textContent !== text) { el.textContent = text; } }
  function setHidden(el, hidden) { if (el.hidden !== hidden) { el.hidden = hidden; } }
  function make(tag, attrs, text) {
    var el = /^(g|circle|text|title)$/.test(tag)
      ? document.createElementNS("http://www.w3.org/2000/svg", tag) : document.createElement(tag);
    for (var k in attrs) { if (Object.prototype.hasOwnProperty.call(attrs, k)) { el.setAttribute(k, attrs[k]); } }
    if (text !== undefined) { el.textContent = text; }
    return el;
  }
  function capital(text) { return text.charAt(0).toUpperCase() + text.slice(1); }
  function pointLabel(point) {
    return /^[A-Z]+ \d+$/.test(point.code) ? point.code + " · " + point.spoken : capital(point.spoken);
  }
  function markLabel(point) { return /^[A-Z]+ \d+$/.test(point.code) ? point.code : point.code.replace(/-/g, " "); }
  /* The chapter title may call the point by another of its names ("CV 26", the source's code). */
  function alsoCalled(point, chapter) {
    var title = chapter ? chapter.title : "";
    for (var i = 0; i < (point.aliases || []).length; i++) {
      if (title.indexOf(point.aliases[i] + ":") === 0) { return point.aliases[i]; }
    }
    return "";
  }

  function drawStep(s) {
    var key = s.ci + "|" + s.side;
    if (shown.step === key) { return; }
    shown.step = key;
    var c = s.chapter;
    setText($("where"), chapters.length ? "Step " + (s.ci + 1) + " of " + chapters.length : "");
    setText($("step"), c ? c.title : D.title);
    var line = $("point-line");
    line.textContent = "";
    if (s.point) {
      line.appendChild(make("strong", {}, pointLabel(s.point)));
      var extra = [];
      var alias = alsoCalled(s.point, c);
      if (alias) { extra.push("the source calls it " + alias); }
      if (s.point.name) { extra.push(s.point.name); }
      if (s.side) { extra.push(s.side + " side"); }
      if (extra.length) { line.appendChild(document.createTextNode(" · " + extra.join(" · "))); }
    }
    setHidden(line, !s.point);
    var box = $("cautions");
    box.textContent = "";
    var cautions = s.point ? s.point.cautions : [];
    cautions.forEach(function (text) { box.appendChild(make("p", {}, "\u26A0\uFE0E " + text)); });
    setHidden(box, !cautions.length);
    var next = chapters[s.ci + 1];
    var nextEl = $("next");
    nextEl.textContent = "";
    if (next) {
      nextEl.appendChild(document.createTextNode("Next: "));
      nextEl.appendChild(make("strong", {}, next.title));
    } else {
      nextEl.textContent = "Last step";
    }
    var items = $("chapters").children;
    for (var i = 0; i < items.length; i++) {
      var b = items[i].firstChild;
      if (i === s.ci) { b.setAttribute("aria-current", "step"); } else { b.removeAttribute("aria-current"); }
    }
    drawPoint(s);
  }

  function drawPoint(s) {
    var figure = $("diagram");
    var places = s.point ? (s.point.places[s.side] || s.point.places.any || []) : [];
    var svgs = figure.querySelectorAll("svg.figure");
    if (!places.length) {
      setHidden(figure, true);
      return;
    }
    var name = places[0].figure;
    var mirrored = !!places[0].mirrored;
    var svg = null;
    for (var i = 0; i < svgs.length; i++) {
      var mine = svgs[i].getAttribute("data-figure") === name;
      if (mine) { svgs[i].removeAttribute("hidden"); } else { svgs[i].setAttribute("hidden", ""); }
      if (mine) { svg = svgs[i]; }
    }
    if (!svg) { setHidden(figure, true); return; }
    setHidden(figure, false);  // shown before the marks go in: their labels are placed by measuring
    var info = D.figures[name];
    var box = info.viewbox;
    // Labels of a readable size on any screen: about 11.5 px for the drawing's own (but never more
    // than a fifth over the size its lines were spaced for), 14 px for the mark's, in the figure's
    // units. A figure wider than tall takes the whole width (data-shape), so it is drawn large.
    figure.setAttribute("data-shape", box[2] > box[3] ? "wide" : "tall");
    var rect = svg.getBoundingClientRect();
    if (rect.width > 0 && rect.height > 0) {  // the drawing fits the box, by its width or its height
      var perPixel = Math.min(2.5, Math.max(0.6, box[2] / rect.width, box[3] / rect.height));
      var labels = svg.querySelector(".drawing .labels");
      var design = parseFloat(labels ? labels.getAttribute("font-size") : "") || 11.5;
      svg.style.setProperty("--label", Math.min(1.2 * design, 11.5 * perPixel).toFixed(1) + "px");
      svg.style.setProperty("--mark", (14 * perPixel).toFixed(1) + "px");
    }
    var drawing = svg.querySelector(".drawing");
    if (mirrored) {
      drawing.setAttribute("transform", "translate(" + (2 * box[0] + box[2]) + " 0) scale(-1 1)");
    } else {
      drawing.removeAttribute("transform");
    }
    svg.setAttribute("data-mirrored", mirrored ? "true" : "false");
    var side = s.side ? " (" + s.side + " side)" : "";
    svg.setAttribute("aria-label", info.title + (mirrored ? ", mirrored to show the left side" : "") + ": " +
                     s.point.spoken + side + ", " + s.point.location);
    for (var j = 0; j < svgs.length; j++) {
      var old = svgs[j].querySelector(".marks");
      while (old.firstChild) { old.removeChild(old.firstChild); }
    }
    var marks = svg.querySelector(".marks");
    places.forEach(function (p) {
      var g = make("g", { "class": "mark", "data-point": s.point.code, "data-x": p.x, "data-y": p.y,
                          "aria-label": s.point.spoken + ": " + s.point.location });
      g.appendChild(make("title", {}, s.point.spoken + side + ": " + s.point.location));
      g.appendChild(make("circle", { "class": "halo", cx: p.x, cy: p.y, r: 15 }));
      g.appendChild(make("circle", { "class": "ring-mark", cx: p.x, cy: p.y, r: 9 }));
      g.appendChild(make("circle", { "class": "dot", cx: p.x, cy: p.y, r: 3.5 }));
      var label = make("text", { x: p.x, y: p.y }, markLabel(s.point));
      g.appendChild(label);
      marks.appendChild(g);
      placeLabel(svg, label, p, box, mirrored);
    });
    setText($("point-name"), capital(s.point.spoken) + (s.side ? ", " + s.side + " side" : ""));
    setText($("point-location"), "\u201C" + capital(s.point.location) + "\u201D");
    setText($("point-find"), s.point.find);
  }

  /* Put a mark's label beside it where it covers none of the drawing's own labels: above,
     below, right or left of the mark, the first that is free (else the least covered). */
  function placeLabel(svg, label, p, box, mirrored) {
    var taken = [];
    var texts = svg.querySelectorAll(".drawing .labels text");
    for (var i = 0; i < texts.length; i++) {
      var b = texts[i].getBBox();
      taken.push({ x: mirrored ? 2 * box[0] + box[2] - b.x - b.width : b.x, y: b.y, w: b.width, h: b.height });
    }
    var size = label.getBBox();
    var w = size.width || 30, h = size.height || 15;
    var spots = [[p.x - w / 2, p.y - 15 - h], [p.x + 15, p.y - h / 2], [p.x - 15 - w, p.y - h / 2],
                 [p.x - w / 2, p.y + 15]];
    var best = null;
    spots.forEach(function (spot) {
      var x = Math.min(Math.max(spot[0], box[0] + 2), box[0] + box[2] - w - 2);
      var y = Math.min(Math.max(spot[1], box[1] + 2), box[1] + box[3] - h - 2);
      var covered = 0;
      taken.forEach(function (t) {
        var dx = Math.min(x + w, t.x + t.w) - Math.max(x, t.x), dy = Math.min(y + h, t.y + t.h) - Math.max(y, t.y);
        if (dx > 0 && dy > 0) { covered += dx * dy; }
      });
      var near = Math.abs(x + w / 2 - p.x) + Math.abs(y + h / 2 - p.y);  // clamping may pull it onto the mark
      if (near < 12) { covered += w * h; }
      if (!best || covered < best.covered) { best = { x: x, y: y, covered: covered }; }
    });
    label.setAttribute("x", (best.x + w / 2).toFixed(1));
    label.setAttribute("y", (best.y + h * 0.8).toFixed(1));
    label.setAttribute("text-anchor", "middle");
  }

  function drawActivity(s) {
    var span = s.span;
    var timer = $("timer");
    var kind = span ? span.kind : "";
    var phase = s.breath ? s.breath.phase : "";
    if (timer.getAttribute("data-kind") !== kind) { timer.setAttribute("data-kind", kind); }
    if (timer.getAttribute("data-phase") !== phase) { timer.setAttribute("data-phase", phase); }
    var phaseText = phase === "in" ? "Breathe in" : phase === "out" ? "Breathe out" : "";
    if (!span) {
      timer.classList.add("idle");
      setText($("countdown"), "");
      setText($("kind"), "");
      setText($("phase"), "");
      setText($("side"), SIDE[s.side] || "");
      setHidden($("breath"), true);
      return;
    }
    timer.classList.remove("idle");
    var left = span.end - s.t;
    setText($("countdown"), countdown(left));
    var gone = Math.min(1, Math.max(0, 1 - left / (span.end - span.start)));
    $("ring").style.strokeDashoffset = (RING * gone).toFixed(2);
    if (kind === "breath") {
      setText($("kind"), phaseText || KIND.breath);
      setText($("phase"), "");
    } else {
      setText($("kind"), KIND[kind] || capital(kind));
      setText($("phase"), phaseText);
    }
    setText($("side"), SIDE[s.side] || "");
    setHidden($("breath"), !s.breath);
    if (s.breath) { $("breath-fill").style.width = (100 * s.breath.progress).toFixed(1) + "%"; }
  }

  function drawSentence(s) {
    var el = $("sentence");
    setText(el, s.sentence ? s.sentence.text : "");
    el.classList.toggle("past", !!s.past);
  }

  function drawControls(t) {
    var seek = $("seek");
    if (!shown.dragging && Math.abs(parseFloat(seek.value) - t) > 0.05) { seek.value = t; }
    var text = clock(t) + " / " + clock(duration);
    if (shown.clock !== text) {
      shown.clock = text;
      setText($("clock"), text);
      seek.setAttribute("aria-valuetext", clock(t) + " of " + clock(duration));
    }
  }

  function render() {
    var t = Math.min(Math.max(now, 0), duration);
    var s = stateAt(t);
    drawStep(s);
    drawActivity(s);
    drawSentence(s);
    drawControls(t);
    root.setAttribute("data-time", t.toFixed(3));
  }

  // ------------------------------------------------------------------ playing and seeking

  function notice(text) {
    var el = $("notice");
    setText(el, text || "");
    setHidden(el, !text);
  }

  function seekTo(t) {
    now = Math.min(Math.max(t, 0), duration);
    lastTick = null;
    try { audio.currentTime = now; } catch (err) { /* not seekable yet: played from `now` on play */ }
    render();
  }

  function play() {
    if (now >= duration - 0.05) { seekTo(0); }
    notice("");
    var started = audio.play();
    if (started && started.catch) {
      started.catch(function (err) {
        if (err && err.name === "AbortError") { return; }
        setPlaying(false);
        notice(err && err.name === "NotAllowedError" ? "Tap Play to start." :
               "The audio could not be played. Keep this page in the same folder as the track.");
      });
    }
  }
  function pause() { audio.pause(); }
  function toggle() { if (playing) { pause(); } else { play(); } }

  function setPlaying(on) {
    playing = on;
    var button = $("play");
    setText($("play-text"), on ? "Pause" : "Play");
    button.classList.toggle("playing", on);
    button.setAttribute("aria-label", on ? "Pause" : "Play");
    if (on && !frame) { frame = requestAnimationFrame(loop); }
    if (!on) { lastTick = null; }
    syncWakeLock();
  }

  function tick(t) {
    if (playing && lastTick !== null) { cueVibration(lastTick, t); }
    lastTick = playing ? t : null;
    now = t;
    render();
  }
  function loop() {
    frame = 0;
    if (!playing) { return; }
    tick(audio.currentTime);
    frame = requestAnimationFrame(loop);
  }

  function chapterStep(delta) {
    var ci = Math.max(0, lastAt(chapters, now));
    var target = ci + delta;
    if (delta < 0 && chapters[ci] && now - chapters[ci].start > 3) { target = ci; }  // back to this step's start
    target = Math.min(Math.max(target, 0), chapters.length - 1);
    if (chapters[target]) { seekTo(chapters[target].start); }
  }

  audio.addEventListener("play", function () {
    if (Math.abs(audio.currentTime - now) > 0.25) { try { audio.currentTime = now; } catch (err) { /* ignore */ } }
    setPlaying(true);
  });
  audio.addEventListener("pause", function () { setPlaying(false); render(); });
  audio.addEventListener("ended", function () { setPlaying(false); now = duration; render(); });
  audio.addEventListener("timeupdate", function () { if (playing) { tick(audio.currentTime); } });
  audio.addEventListener("error", function () {
    notice("The audio file could not be loaded. Keep this page in the same folder as the track.");
  });

  // ------------------------------------------------------------------ screen wake lock (massage)

  var lock = null, asking = false;
  function wantLock() {
    return playing && root.getAttribute("data-theme") === "massage" && document.visibilityState === "visible";
  }
  function syncWakeLock() {
    if (!("wakeLock" in navigator)) { return; }
    if (wantLock() && !lock && !asking) {
      asking = true;
      navigator.wakeLock.request("screen").then(function (l) {
        asking = false;
        lock = l;
        l.addEventListener("release", function () { if (lock === l) { lock = null; } });
        if (!wantLock()) { syncWakeLock(); }
      }).catch(function () { asking = false; });
    } else if (!wantLock() && lock) {
      var l = lock;
      lock = null;
      l.release().catch(function () { /* already released */ });
    }
  }
  document.addEventListener("visibilitychange", syncWakeLock);

  // ------------------------------------------------------------------ vibration at cues

  var cueTimes = [];
  spans.forEach(function (span) {
    if (CUED[span.kind]) { cueTimes.push({ start: span.start, end: false }, { start: span.end, end: true }); }
  });
  cueTimes.sort(function (a, b) { return a.start - b.start; });
  var vibrateOn = false;
  function cueVibration(from, to) {
    if (!vibrateOn || to <= from || to - from > 1.5) { return; }
    var i = lastAt(cueTimes, to);
    if (i >= 0 && cueTimes[i].start > from) {
      navigator.vibrate(cueTimes[i].end ? [90, 80, 90] : [200]);
    }
  }
  if (typeof navigator.vibrate === "function") {
    var vib = $("vibrate");
    vib.hidden = false;
    vib.addEventListener("click", function (e) {
      vibrateOn = !vibrateOn;
      vib.setAttribute("aria-pressed", vibrateOn ? "true" : "false");
      if (vibrateOn) { navigator.vibrate(60); }
      blurAfterTap(e);
    });
  }

  // ------------------------------------------------------------------ theme

  function setTheme(name) {
    root.setAttribute("data-theme", name);
    var other = name === "bedtime" ? "massage" : "bedtime";
    var button = $("theme");
    button.setAttribute("aria-label", "Use the " + other + " theme");
    button.setAttribute("title", "Use the " + other + " theme");
    var meta = document.querySelector('meta[name="theme-color"]');
    if (meta) { meta.setAttribute("content", getComputedStyle(document.body).backgroundColor); }
    syncWakeLock();
  }
  $("theme").addEventListener("click", function (e) {
    setTheme(root.getAttribute("data-theme") === "bedtime" ? "massage" : "bedtime");
    blurAfterTap(e);
  });

  // ------------------------------------------------------------------ controls

  /* After a tap or click (not a key press), give focus back to the page so that space plays
     and pauses; keyboard users keep their focus where it was. */
  function blurAfterTap(e) { if (e && e.detail > 0 && e.currentTarget.blur) { e.currentTarget.blur(); } }

  $("play").addEventListener("click", function (e) { toggle(); blurAfterTap(e); });
  $("prev").addEventListener("click", function (e) { chapterStep(-1); blurAfterTap(e); });
  $("next-step").addEventListener("click", function (e) { chapterStep(1); blurAfterTap(e); });

  var seek = $("seek");
  seek.max = duration;
  // The arrow keys move 5 seconds (a range input's own step would be a tenth of one), Page Up
  // and Page Down a minute, Home and End to either end.
  seek.addEventListener("keydown", function (e) {
    var by = { ArrowRight: 5, ArrowUp: 5, ArrowLeft: -5, ArrowDown: -5, PageUp: 60, PageDown: -60 }[e.key];
    if (e.key === "Home") { by = -now; } else if (e.key === "End") { by = duration - now; }
    if (by === undefined || e.altKey || e.ctrlKey || e.metaKey) { return; }
    e.preventDefault();
    seekTo(now + by);
  });
  window.addEventListener("resize", function () { shown.step = null; render(); });
  seek.addEventListener("input", function () { shown.dragging = true; seekTo(parseFloat(seek.value)); });
  seek.addEventListener("change", function () { shown.dragging = false; seekTo(parseFloat(seek.value)); });

  var list = $("chapters"), ticks = $("ticks");
  chapters.forEach(function (c, i) {
    var b = make("button", { type: "button", "data-start": c.start });
    b.appendChild(make("span", { "class": "t" }, clock(c.start)));
    b.appendChild(make("span", { "class": "n" }, c.title));
    b.addEventListener("click", function (e) { seekTo(c.start); blurAfterTap(e); });
    var li = make("li", {});
    li.appendChild(b);
    list.appendChild(li);
    if (i > 0 && duration > 0) {
      ticks.appendChild(make("span", { style: "left:" + (100 * c.start / duration).toFixed(3) + "%" }));
    }
  });

  document.addEventListener("keydown", function (e) {
    if (e.altKey || e.ctrlKey || e.metaKey || e.defaultPrevented) { return; }
    var target = e.target || {};
    var tag = target.tagName || "";
    if (e.key === " " || e.key === "Spacebar") {
      // A focused button or field does its own thing with space; everywhere else it plays and pauses.
      if (tag === "BUTTON" || tag === "A" || tag === "TEXTAREA" || tag === "SELECT" ||
          (tag === "INPUT" && target.type !== "range")) { return; }
      e.preventDefault();
      toggle();
    } else if (e.key === "ArrowRight" || e.key === "ArrowLeft") {
      if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") { return; }  // the seek bar moves itself
      e.preventDefault();
      chapterStep(e.key === "ArrowRight" ? 1 : -1);
    }
  });

  // ------------------------------------------------------------------ about

  setText($("description"), D.description || "");
  var files = $("files");
  var names = [["audio", "Audio"], ["transcript", "Transcript (WebVTT)"], ["chapters_vtt", "Chapters (WebVTT)"],
               ["chapters_json", "Chapters (JSON)"], ["lrc", "Lyrics (LRC)"]];
  var links = { audio: D.audio };
  for (var role in D.files) { if (Object.prototype.hasOwnProperty.call(D.files, role)) { links[role] = D.files[role]; } }
  names.forEach(function (pair) {
    if (!links[pair[0]]) { return; }
    if (files.childNodes.length) { files.appendChild(document.createTextNode(" · ")); }
    files.appendChild(make("a", { href: links[pair[0]] }, pair[1]));
  });

  // ------------------------------------------------------------------ start

  function openMoment() {
    var t = hashTime();
    if (t === null) { return false; }
    if (playing) { pause(); }
    seekTo(t);
    return true;
  }
  window.addEventListener("hashchange", openMoment);
  setTheme(root.getAttribute("data-theme") === "bedtime" ? "bedtime" : "massage");
  if (!openMoment()) { render(); }
  root.setAttribute("data-ready", "true");
})();

/* The diary questions, only when the app serves this page (rlsaudio app): when the track plays to
   its end, or at the first visit the next morning, two 0-10 questions (restlessness before the
   session, sleep quality) saved with POST /api/diary on the same origin (the app's key cookie).
   Opened from disk, from `serve` or any other server (no x-rlsaudio-app header on the page), nothing is added.
   A block of its own: it reads only the DOM and #page-data. */
(function () {
  "use strict";
  if (!/^https?:$/.test(location.protocol) || !window.fetch || !window.JSON) { return; }
  var audio = document.getElementById("audio");
  var dataNode = document.getElementById("page-data");
  if (!audio || !dataNode) { return; }
  var title = "";
  try { title = JSON.parse(dataNode.textContent).title || ""; } catch (e) { return; }
  var KEY = "rlsaudio-diary-listened";
  function store(value) { try { localStorage.setItem(KEY, JSON.stringify(value)); } catch (e) {} }
  function stored() { try { return JSON.parse(localStorage.getItem(KEY) || "null"); } catch (e) { return null; } }
  function today() { var d = new Date(); return d.getFullYear() + "-" + (d.getMonth() + 1) + "-" + d.getDate(); }

  // The page itself, asked again (HEAD): only the app's answer says x-rlsaudio-app, and any server
  // answers this one, so no other server sees a request it would log as an error.
  fetch(location.pathname, { method: "HEAD", credentials: "same-origin", cache: "no-store" }).then(function (r) {
    if (!r.headers.get("x-rlsaudio-app")) { return null; }
    return fetch("/api/diary", { credentials: "same-origin", headers: { "Accept": "application/json" } });
  }).then(function (r) {
    var type = r ? r.headers.get("content-type") || "" : "";
    return r && r.ok && type.indexOf("application/json") === 0 ? r.json() : null;
  }).then(function (diary) {
    if (!diary || typeof diary.last_night !== "string") { return; }
    var night = diary.last_night;
    document.documentElement.setAttribute("data-app-diary", "ready");
    audio.addEventListener("play", function () {
      var s = stored();
      if (!s || s.night !== night || s.title !== title) { store({ night: night, title: title, day: today(), answered: false }); }
    });
    audio.addEventListener("ended", function () { offer(night); });
    var s = stored();
    if (s && !s.answered && s.night === night && s.day !== today()) { offer(night); }  // the next morning
  }, function () {});

  function offer(night) {
    if (document.getElementById("app-diary")) { return; }
    var style = document.createElement("style");
    style.textContent = "#app-diary{max-width:48rem;margin:1rem auto 12rem;padding:.6rem 1rem;border:2px solid var(--accent);" +
      "border-radius:.7rem;background:var(--surface);color:var(--fg)}#app-diary h2{font-size:1.1rem;margin:.2rem 0 .5rem}" +
      "#app-diary label{display:block;margin:.5rem 0}#app-diary .row{display:flex;gap:.7rem;align-items:center}" +
      "#app-diary input[type=range]{flex:1;accent-color:var(--accent);min-height:2.75rem}#app-diary output{font-weight:700;min-width:1.5rem}" +
      "#app-diary .buttons{display:flex;gap:.6rem;margin-top:.5rem}";
    document.head.appendChild(style);
    var box = document.createElement("section");
    box.id = "app-diary";
    box.setAttribute("aria-labelledby", "app-diary-title");
    box.innerHTML = '<h2 id="app-diary-title">Your diary: how was it?</h2>' +
      '<label>Restlessness before the session (0 none, 10 worst)<span class="row"><input type="range" id="app-diary-restless" min="0" max="10" step="1" value="5"><output id="app-diary-restless-out">\u2013</output></span></label>' +
      '<label>Sleep quality (0 none, 10 best)<span class="row"><input type="range" id="app-diary-sleep" min="0" max="10" step="1" value="5"><output id="app-diary-sleep-out">\u2013</output></span></label>' +
      '<div class="buttons"><button type="button" id="app-diary-save" disabled>Save to the diary</button>' +
      '<button type="button" id="app-diary-later">Not now</button></div><p id="app-diary-result" role="status"></p>';
    var main = document.querySelector("main") || document.body;
    main.appendChild(box);
    var touched = {};
    ["restless", "sleep"].forEach(function (k) {
      var input = document.getElementById("app-diary-" + k);
      input.addEventListener("input", function () {
        touched[k] = true;
        document.getElementById("app-diary-" + k + "-out").textContent = input.value;
        document.getElementById("app-diary-save").disabled = false;
      });
    });
    document.getElementById("app-diary-later").addEventListener("click", function () { box.remove(); });
    document.getElementById("app-diary-save").addEventListener("click", function () {
      var body = { date: night, track: title };
      Object.keys(touched).forEach(function (k) { body[k] = +document.getElementById("app-diary-" + k).value; });
      fetch("/api/diary", { method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body) }).then(function (r) {
        return r.json().then(function (d) { return { ok: r.ok, d: d }; });
      }).then(function (res) {
        var result = document.getElementById("app-diary-result");
        if (res.ok) {
          var s = stored() || {};
          s.answered = true;
          store(s);
          result.textContent = "Saved to your diary for the night of " + night + ".";
          box.setAttribute("data-saved", "true");
        } else {
          result.textContent = res.d.error || "The diary could not be saved.";
        }
      }, function () { document.getElementById("app-diary-result").textContent = "The app is not answering."; });
    });
    box.scrollIntoView({ block: "center" });
  }
})();
