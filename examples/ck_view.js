/* ck_view.js: the script of the page `ck view` writes (examples/ck.c, cmd_view). The page holds ckgen's
   outputs verbatim in hidden <pre> elements (src_layout: layout.json, src_manifest: weights_manifest.json,
   src_header: NAME.h, src_train: NAME_train.h, src_family: models/FAMILY.h); this draws from them:
     - the arena maps: every section and buffer to scale (SVG), and a table of every buffer with its
       offset, size, dtype, role and the buffers it shares bytes with (their ranges overlap);
     - the training arena's sections (NAME_train.h's NAME_train_sections table), with --train;
     - the weight types per layer and per tensor, and the bytes per type;
     - the ops of each mode (prefill, decode; train forward and backward) in program order, each with its
       line in the generated C and its line in models/FAMILY.h;
     - with --profile (src_profile: run --profile's JSON), the time, FLOPs, bytes, GFLOP/s and GB/s of each op and
       layer of a prefill and of decode steps, against the measured FMA peak and read bandwidth.
   No network, no library: plain DOM calls. Everything shown is read from those files, nothing assumed. */
"use strict";
(function () {
  var page = document.getElementById("page");
  function src(id) {
    var e = document.getElementById(id);
    return e && !e.hasAttribute("data-missing") ? e.textContent : null;
  }
  function el(tag, attrs, kids) {
    var e = document.createElement(tag), k;
    for (k in attrs || {}) e.setAttribute(k, attrs[k]);
    (kids || []).forEach(function (c) { e.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
    return e;
  }
  var SVG = "http://www.w3.org/2000/svg";
  function svg(tag, attrs, title) {
    var e = document.createElementNS(SVG, tag), k;
    for (k in attrs) e.setAttribute(k, attrs[k]);
    if (title) { var t = document.createElementNS(SVG, "title"); t.textContent = title; e.appendChild(t); }
    return e;
  }
  function hex(n) { return "0x" + n.toString(16); }
  function human(n) {
    return n >= 1 << 20 ? (n / (1 << 20)).toFixed(2) + " MiB" : n >= 1024 ? (n / 1024).toFixed(1) + " KiB" : n + " B";
  }
  /* a stable colour per word (dtype, role, section) */
  var FIXED = { f32: "#4e79a7", f16: "#59a14f", bf16: "#76b7b2", q8_0: "#edc948", q6_K: "#f28e2b", q5_K: "#e15759",
                q4_K: "#b07aa1", q4_0: "#ff9da7", q5_0: "#9c755f", q2_K: "#bab0ac", q3_K: "#d37295" };
  function colour(word) {
    if (FIXED[word]) return FIXED[word];
    var h = 0, i;
    for (i = 0; i < word.length; i++) h = (h * 31 + word.charCodeAt(i)) % 360;
    return "hsl(" + h + ",55%,60%)";
  }
  function table(head, rows, cls) {
    var t = el("table", { "class": cls || "" });
    t.appendChild(el("tr", {}, head.map(function (h) { return el("th", {}, [h]); })));
    rows.forEach(function (r) { t.appendChild(r); });
    return t;
  }
  function section(title, id) {
    var s = el("section", { id: id }, [el("h2", {}, [title])]);
    page.appendChild(s);
    return s;
  }
  /* one bar of width W: [{offset, bytes, label, colour, lane}] to the scale of total bytes */
  function bar(parts, total, lanes, cls) {
    var W = 1100, H = 26, s = svg("svg", { width: W, height: lanes * (H + 4) + 4, "class": cls || "" });
    s.appendChild(svg("rect", { x: 0, y: 0, width: W, height: lanes * (H + 4) + 4, fill: "#f4f4f4" }));
    parts.forEach(function (p) {
      var x = p.offset / total * W, w = Math.max(1, p.bytes / total * W), y = 2 + (p.lane || 0) * (H + 4);
      s.appendChild(svg("rect", { x: x, y: y, width: w, height: H, fill: p.colour, stroke: "#222", "stroke-width": 0.5 },
                        p.label + " @" + hex(p.offset) + ", " + p.bytes + " bytes"));
      if (w > 40) {
        var t = svg("text", { x: x + 3, y: y + 17, "font-size": 11, fill: "#000" });
        t.textContent = p.label.length * 6 < w ? p.label : p.label.slice(0, Math.floor(w / 6));
        s.appendChild(t);
      }
    });
    return s;
  }

  var layoutText = src("src_layout"), header = src("src_header");
  if (!layoutText || !header) {
    page.appendChild(el("h1", { id: "refused" }, ["ck view: ckgen wrote no layout.json or header"]));
    return;
  }
  var L = JSON.parse(layoutText), train = src("src_train"), family = src("src_family");
  var headerLines = header.split("\n"), familyLines = family ? family.split("\n") : [];
  var familyPath = document.getElementById("src_family").getAttribute("data-path").replace(/^.*\/models\//, "models/");

  page.appendChild(el("h1", {}, ["ck view: " + L.model + " (" + L.family + ")"]));
  page.appendChild(el("p", { id: "summary" }, [
    "source " + L.source + " \u2014 layout " + L.layout_hash + " \u2014 weights " + L.weights_bytes + " bytes (" +
    human(L.weights_bytes) + "), state " + L.state_bytes + " bytes (" + human(L.state_bytes) + ")"]));

  /* ---- weight types ---- */
  var weights = L.buffers.filter(function (b) { return b.region === "weights"; });
  var ws = section("Weight types", "weight-types"), perType = {}, layers = {}, cols = [], counted = {};
  weights.forEach(function (b) {
    if (!counted[b.offset]) perType[b.dtype] = (perType[b.dtype] || 0) + b.bytes; /* a tied tensor (two names, one offset) once */
    counted[b.offset] = 1;
    var short = b.layer >= 0 ? b.name.replace(/^blk\.\d+\./, "") : b.name;
    (layers[b.layer] = layers[b.layer] || {})[short] = b.dtype;
    if (b.layer >= 0 && cols.indexOf(short) < 0) cols.push(short);
  });
  ws.appendChild(table(["dtype", "tensors", "bytes", "share"], Object.keys(perType).map(function (t) {
    var n = weights.filter(function (b) { return b.dtype === t; }).length;
    return el("tr", { "class": "dtype-total" }, [el("td", { style: "background:" + colour(t) }, [t]), el("td", {}, [String(n)]),
      el("td", {}, [String(perType[t])]), el("td", {}, [(100 * perType[t] / L.weights_bytes).toFixed(1) + "%"])]);
  })));
  ws.appendChild(el("p", {}, ["per layer (each cell: the tensor's type):"]));
  ws.appendChild(table(["layer"].concat(cols), Object.keys(layers).filter(function (l) { return l >= 0; })
    .sort(function (a, b) { return a - b; }).map(function (l) {
      return el("tr", { "class": "layer-types" }, [el("td", {}, [l])].concat(cols.map(function (c) {
        var t = layers[l][c];
        return el("td", t ? { style: "background:" + colour(t) } : {}, [t || "\u2014"]);
      })));
    }), "types"));
  if (layers[-1])
    ws.appendChild(el("p", {}, ["outside the layers: " + Object.keys(layers[-1]).map(function (n) {
      return n + " " + layers[-1][n]; }).join(", ")]));

  /* ---- arena map ---- */
  var am = section("Arena map (inference)", "arena");
  ["weights", "state"].forEach(function (region) {
    var bufs = L.buffers.filter(function (b) { return b.region === region; });
    var total = region === "weights" ? L.weights_bytes : L.state_bytes, roles = [];
    bufs.forEach(function (b) { if (roles.indexOf(b.role) < 0) roles.push(b.role); });
    am.appendChild(el("h3", {}, [region + " region: " + total + " bytes (" + human(total) + ")" +
      (region === "state" ? "; top row: its sections; below, each role's buffers, stacked where they share bytes"
                          : "; coloured by dtype")]));
    var parts = [], lanes = 0;
    if (region === "state") {
      (L.sections || []).forEach(function (s) {
        parts.push({ offset: s.offset, bytes: s.bytes, label: s.name, colour: colour(s.name), lane: 0 });
      });
      lanes = 1;
      roles.forEach(function (role) { /* rows of a role: a buffer goes to the first row free at its offset */
        var ends = [];
        bufs.filter(function (b) { return b.role === role; }).sort(function (a, b) { return a.offset - b.offset; })
          .forEach(function (b) {
            var k = 0;
            while (k < ends.length && ends[k] > b.offset) k++;
            ends[k] = b.offset + b.bytes;
            parts.push({ offset: b.offset, bytes: b.bytes, label: b.name, lane: lanes + k, colour: colour(role) });
          });
        lanes += ends.length;
      });
    } else {
      bufs.forEach(function (b) { parts.push({ offset: b.offset, bytes: b.bytes, label: b.name, lane: 0, colour: colour(b.dtype) }); });
      lanes = 1;
    }
    am.appendChild(bar(parts, total, lanes, "arena-bar"));
  });
  var bufRows = L.buffers.map(function (b, i) {
    var shares = L.buffers.filter(function (o, j) {
      return j !== i && o.region === b.region && o.offset < b.offset + b.bytes && b.offset < o.offset + o.bytes;
    }).map(function (o) { return o.name + (o.role !== b.role ? " (" + o.role + ")" : ""); });
    return el("tr", { "class": "buffer", "data-name": b.name, "data-bytes": String(b.bytes), "data-region": b.region,
                      "data-role": b.role }, [
      el("td", {}, [b.region]), el("td", {}, [b.name]), el("td", {}, [b.role]),
      el("td", { style: "background:" + colour(b.dtype) }, [b.dtype]), el("td", {}, ["[" + b.shape.join(", ") + "]"]),
      el("td", {}, [hex(b.offset)]), el("td", { "class": "bytes" }, [String(b.bytes)]),
      el("td", {}, [b.live_ops ? "ops " + b.live_ops[0] + "\u2013" + b.live_ops[1] : ""]), el("td", {}, [shares.join(", ")])]);
  });
  am.appendChild(table(["region", "buffer", "role", "dtype", "shape", "offset", "bytes", "live", "shares bytes with"],
                       bufRows, "buffers"));
  if (L.sections)
    am.appendChild(table(["state section", "offset", "bytes", "canary at"], L.sections.map(function (s) {
      return el("tr", { "class": "state-section" }, [el("td", {}, [s.name]), el("td", {}, [hex(s.offset)]),
        el("td", {}, [String(s.bytes)]), el("td", {}, [s.canary_at !== undefined ? hex(s.canary_at) : ""])]);
    })));

  /* ---- training arena: NAME_train.h's section table { "name", 0xOFFSET, BYTES } ---- */
  if (train) {
    var ta = section("Training arena", "train-arena"), m = /_train_sections\[[^\]]*\] = \{([\s\S]*?)\n\};/.exec(train);
    var secs = [], re = /\{ "([^"]+)", 0x([0-9a-fA-F]+), (\d+) \}/g, r;
    while (m && (r = re.exec(m[1])) !== null) secs.push({ name: r[1], offset: parseInt(r[2], 16), bytes: Number(r[3]) });
    var end = secs.reduce(function (a, s) { return Math.max(a, s.offset + s.bytes); }, 0);
    ta.appendChild(el("h3", {}, [secs.length + " sections, " + end + " bytes (" + human(end) + ")"]));
    ta.appendChild(bar(secs.map(function (s) {
      return { offset: s.offset, bytes: s.bytes, label: s.name, colour: colour(s.name), lane: 0 };
    }), end, 1, "train-bar"));
    ta.appendChild(table(["section", "offset", "bytes", "size"], secs.map(function (s) {
      return el("tr", { "class": "train-section", "data-name": s.name, "data-bytes": String(s.bytes) }, [
        el("td", { style: "background:" + colour(s.name) }, [s.name]), el("td", {}, [hex(s.offset)]),
        el("td", {}, [String(s.bytes)]), el("td", {}, [human(s.bytes)])]);
    })));
  }

  /* ---- ops per mode: the OP(...) comments of a generated function, in order ---- */
  function norm(s) { return s.replace(/\s+/g, ""); }
  function dslLine(sig) { /* the first line of models/FAMILY.h declaring this OP(...) */
    var want = norm(sig), i;
    for (i = 0; i < familyLines.length; i++) if (norm(familyLines[i]).indexOf(want) >= 0) return i;
    return -1;
  }
  function ops(lines, fnPattern) {
    var start = -1, i, found = [];
    for (i = 0; i < lines.length; i++) if (fnPattern.test(lines[i])) { start = i; break; }
    if (start < 0) return null;
    for (i = start + 1; i < lines.length && lines[i] !== "}"; i++) {
      var m = /\/\* (backward of )?(OP\([^)]*\))/.exec(lines[i]);
      if (m) found.push({ line: i, sig: m[2], backward: !!m[1] });
    }
    found.forEach(function (o, k) { o.end = k + 1 < found.length ? found[k + 1].line : i; });
    return found;
  }
  var name = L.model, modes = [
    ["prefill", headerLines, new RegExp("^static void " + name + "_prefill\\("), name + ".h"],
    ["decode", headerLines, new RegExp("^static void " + name + "_decode(_step)?\\("), name + ".h"]]; /* (the step: _decode runs it) */
  if (train) {
    var trainLines = train.split("\n");
    modes.push(["train-forward", trainLines, new RegExp("^static float " + name + "_train_forward\\("), name + "_train.h"]);
    modes.push(["backward", trainLines, new RegExp("^static void " + name + "_train_backward\\("), name + "_train.h"]);
  }
  var og = section("Op graph", "ops");
  og.appendChild(el("p", {}, ["Each op of each mode in program order (ops inside the layer loop run once per layer): " +
    "its lines in the generated C, and its declaration in " + familyPath + ". Click an op to show them."]));
  modes.forEach(function (md) {
    var list = ops(md[1], md[2]);
    if (!list) return;
    var box = el("div", { "class": "mode", id: "mode-" + md[0], "data-mode": md[0], "data-ops": String(list.length) });
    box.appendChild(el("h3", {}, [md[0] + ": ", el("span", { "class": "op-count" }, [String(list.length)]), " ops (" + md[3] + ")"]));
    var ol = el("ol", { "class": "op-list" });
    list.forEach(function (o) {
      var d = dslLine(o.sig), code = md[1].slice(o.line, Math.min(o.end, o.line + 12)).map(function (t, k) {
        return (o.line + k + 1) + ": " + t; }).join("\n");
      var sum = el("summary", {}, [el("code", {}, [(o.backward ? "backward of " : "") + o.sig]),
        " \u2014 " + md[3] + ":" + (o.line + 1) + ", " + (d >= 0 ? familyPath + ":" + (d + 1) : "no line in " + familyPath)]);
      var det = el("details", {}, [sum, el("pre", { "class": "c-lines" }, [code]),
        el("pre", { "class": "dsl-line" }, [d >= 0 ? familyPath + ":" + (d + 1) + ": " + familyLines[d].trim() : ""])]);
      ol.appendChild(el("li", { "class": "op", "data-c-line": String(o.line + 1), "data-dsl-line": String(d + 1) }, [det]));
    });
    box.appendChild(ol);
    og.appendChild(box);
  });
  /* ---- profile (ck view --profile: run --profile's JSON): time, FLOPs and bytes per op and layer of one
     prefill and of N decode steps, against the measured FMA peak and read bandwidth ---- */
  var profText = src("src_profile");
  if (profText) {
    var P = JSON.parse(profText), ps = section("Profile: prefill of " + P.tokens + " tokens, " + P.decode_tokens + " decode steps", "profile");
    ps.appendChild(el("p", { "class": "peaks" }, ["Measured on this machine by run --profile (" + P.threads + " thread" +
      (P.threads > 1 ? "s" : "") + "): FMA peak ", el("b", { id: "peak-gflops", "data-value": String(P.peak_gflops) }, [P.peak_gflops.toFixed(1)]), " GFLOP/s, memory read bandwidth ",
      el("b", { id: "peak-gbps", "data-value": String(P.peak_gbps) }, [P.peak_gbps.toFixed(2)]), " GB/s. An op's time runs from the previous op's end to its own (run's capture " +
      "hook); matmuls that read one input run as one pass (q, k, v; gate, up): the pass's time lands on the first, and each " +
      "op of the pass shows the pass's rates. FLOPs and bytes are the generator's count (ck_op_cost in ckernel.h): a matmul " +
      "2 in out per row and its weights' bytes once per call, attention 4 heads head_dim per visible key. The FMA peak is " +
      "fp32's: a quantized matmul's fast path runs 8-bit integer dot products and can go past it; the bandwidth is memory's: " +
      "an op whose bytes sit in cache (a small model's activations) can go past it."]));
    [["prefill", "seconds", "flops", "bytes", P.prefill_seconds], ["decode", "decode_seconds", "decode_flops", "decode_bytes", P.decode_seconds]]
      .forEach(function (ph) {
        var name = ph[0], S = ph[1], FL = ph[2], BY = ph[3], box = el("div", { "class": "phase", id: "profile-" + name, "data-phase": name });
        ps.appendChild(box);
        var timed = 0, perKind = {}, perLayer = {}, group = {};
        P.ops.forEach(function (o) {
          var g = o.layer + ":" + o.call;
          timed += o[S];
          perKind[o.op] = (perKind[o.op] || 0) + o[S];
          (perLayer[o.layer] = perLayer[o.layer] || []).push(o);
          group[g] = group[g] || { s: 0, f: 0, b: 0, n: 0 };
          group[g].s += o[S]; group[g].f += o[FL]; group[g].b += o[BY]; group[g].n++;
        });
        function rates(s, f, b) { /* [GFLOP/s, GB/s, % of FMA peak, % of bandwidth] */
          var gf = s > 0 ? f / s / 1e9 : 0, gb = s > 0 ? b / s / 1e9 : 0;
          return [gf.toFixed(2), gb.toFixed(2), (100 * gf / P.peak_gflops).toFixed(1) + "%", (100 * gb / P.peak_gbps).toFixed(1) + "%"];
        }
        function cells(r) {
          return ["gflops", "gbps", "pct-peak", "pct-bw"].map(function (c, k) { return el("td", { "class": c }, [r[k]]); });
        }
        var total = P.ops.reduce(function (a, o) { return [a[0] + o[FL], a[1] + o[BY]]; }, [0, 0]);
        var whole = rates(ph[4], total[0], total[1]);
        box.appendChild(el("h3", {}, [name + ": " + (ph[4] * 1e3).toFixed(3) + " ms (the ops' times add up to " + (timed * 1e3).toFixed(3) +
          " ms), " + (total[0] / 1e9).toFixed(4) + " GFLOP, " + (total[1] / 1e9).toFixed(4) + " GB: " + whole[0] + " GFLOP/s (" + whole[2] +
          " of peak), " + whole[1] + " GB/s (" + whole[3] + " of bandwidth)"]));
        var lanes = Object.keys(perLayer).sort(function (a, b) { return a - b; }), parts = [];
        var rowMax = lanes.reduce(function (a, l) {
          return Math.max(a, perLayer[l].reduce(function (b, o) { return b + o[S]; }, 0)); }, 1e-12);
        lanes.forEach(function (l, k) {
          var at = 0;
          perLayer[l].forEach(function (o) {
            parts.push({ offset: at, bytes: o[S], label: o.op + " " + o.out + " (layer " + l + ", " + (o[S] * 1e6).toFixed(1) + " us)",
                         colour: colour(o.op), lane: k });
            at += o[S];
          });
        });
        box.appendChild(el("p", {}, ["One row per layer (head and foot: layer -1), each op's width its share of the slowest row."]));
        box.appendChild(bar(parts, rowMax, lanes.length, "profile-bar"));
        box.appendChild(table(["layer", "ms", "GFLOP", "MB", "GFLOP/s", "GB/s", "of FMA peak", "of bandwidth"], lanes.map(function (l) {
          var s = 0, f = 0, b = 0;
          perLayer[l].forEach(function (o) { s += o[S]; f += o[FL]; b += o[BY]; });
          return el("tr", { "class": "prof-layer", "data-layer": l }, [el("td", {}, [l]), el("td", {}, [(s * 1e3).toFixed(3)]),
            el("td", {}, [(f / 1e9).toFixed(4)]), el("td", {}, [(b / 1e6).toFixed(3)])].concat(cells(rates(s, f, b))));
        }), "prof-layers"));
        box.appendChild(table(["op kind", "ms", "share"], Object.keys(perKind).sort(function (a, b) { return perKind[b] - perKind[a]; })
          .map(function (k) {
            return el("tr", { "class": "prof-kind" }, [el("td", { style: "background:" + colour(k) }, [k]),
              el("td", {}, [(perKind[k] * 1e3).toFixed(3)]), el("td", {}, [(100 * perKind[k] / (timed || 1)).toFixed(1) + "%"])]);
          })));
        box.appendChild(table(["layer", "op", "out", "us", "GFLOP", "MB", "GFLOP/s", "GB/s", "of FMA peak", "of bandwidth"], P.ops.map(function (o) {
          var g = group[o.layer + ":" + o.call], r = rates(g.s, g.f, g.b);
          return el("tr", { "class": "prof-op", "data-phase": name, "data-index": String(o.index), "data-layer": String(o.layer),
                            "data-seconds": String(o[S]) }, [el("td", {}, [String(o.layer)]), el("td", {}, [o.op]),
            el("td", {}, [o.out + (g.n > 1 ? " (pass of " + g.n + ")" : "")]), el("td", {}, [(o[S] * 1e6).toFixed(1)]),
            el("td", {}, [(o[FL] / 1e9).toFixed(6)]), el("td", {}, [(o[BY] / 1e6).toFixed(4)])].concat(cells(r)));
        }), "prof-ops"));
      });
  }
  var st = document.createElement("style");
  st.textContent = "body{font:14px sans-serif;margin:16px;color:#111}table{border-collapse:collapse;margin:8px 0}" +
    "td,th{border:1px solid #bbb;padding:2px 6px;text-align:left}th{background:#ddd}pre{background:#f6f6f6;" +
    "padding:4px;margin:2px 0 6px 0;overflow-x:auto}.mode{display:inline-block;vertical-align:top;margin-right:24px}" +
    "svg{display:block;margin:4px 0}h2{border-bottom:2px solid #4e79a7}";
  document.head.appendChild(st);
})();
