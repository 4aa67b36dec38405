-- The page `mlrun serve` shows at GET /: one file, no external assets, so it
-- works offline. {{NAME}}, {{SUMMARY}}, {{MODE}} ("image" or "table") and
-- {{NFEATURES}} and {{FEATURES}} (a JSON list of feature names, or null) are
-- filled in by ml.serve. A URL ending in
-- #test=<data URL> classifies that picture on load, through the same code
-- path as a picked file (the browser test uses it).
return {html = [==[<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{NAME}} - mlrun</title>
<style>
 body{font:15px/1.4 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d2430}
 main{max-width:760px;margin:24px auto;padding:0 16px}
 h1{font-size:22px;margin:0 0 4px} .sub{color:#5a6472;margin:0 0 18px}
 #drop{display:block;border:2px dashed #9aa5b4;border-radius:10px;padding:26px;text-align:center;background:#fff;cursor:pointer}
 #drop.over{border-color:#2f6fde;background:#eef4ff}
 #preview{width:168px;max-height:224px;object-fit:contain;image-rendering:pixelated;margin:12px auto;display:none;border:1px solid #ccd}
 .bar{display:flex;align-items:center;margin:6px 0}
 .bar .name{width:120px;text-align:right;padding-right:10px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
 .bar .track{flex:1;background:#e3e7ee;border-radius:4px;height:20px;position:relative}
 .bar .fill{background:#2f6fde;height:100%;border-radius:4px}
 .bar .p{width:70px;padding-left:8px;font-variant-numeric:tabular-nums}
 #answer{font-size:20px;margin:16px 0 6px} #error{color:#b42318;white-space:pre-wrap}
 pre{background:#fff;border:1px solid #dde;padding:10px;overflow:auto;font-size:12px}
 form input{width:90px;margin:3px} button{padding:6px 14px;margin-top:8px}
</style></head>
<body><main>
<h1>{{NAME}}</h1><p class="sub">served by mlrun &mdash; <span id="mode">{{MODE}}</span> model</p>
<section id="imagebox">
 <label id="drop" for="file">Drop a picture here, or click to pick one (PNG or JPEG)
  <input id="file" type="file" accept="image/png,image/jpeg" hidden></label>
 <img id="preview" alt="the picture sent">
</section>
<section id="tablebox" hidden><form id="form"></form></section>
<div id="answer"></div><div id="bars"></div><div id="error"></div>
<details><summary>Model</summary><pre id="summary">{{SUMMARY}}</pre></details>
<script>
"use strict";
const MODE = "{{MODE}}", NFEATURES = {{NFEATURES}}, FEATURES = {{FEATURES}};
const $ = (id) => document.getElementById(id);

function show(res) {
  $("error").textContent = "";
  const p = res.predictions && res.predictions[0];
  if (!p) { $("answer").textContent = JSON.stringify(res); return; }
  if (p.class === undefined) { $("answer").textContent = "prediction: " + JSON.stringify(p); return; }
  const name = (c) => c.label !== undefined ? c.label : String(c.class);
  const answer = $("answer");
  answer.textContent = "class: " + name(p);
  answer.dataset.class = String(p.class);
  let top = p.top;
  if (!top) top = p.probabilities.map((q, i) => ({class: i, probability: q}))
    .sort((a, b) => b.probability - a.probability).slice(0, 5);
  const bars = $("bars");
  bars.textContent = "";
  for (const c of top) {
    const row = document.createElement("div"); row.className = "bar";
    const n = document.createElement("div"); n.className = "name"; n.textContent = name(c);
    const t = document.createElement("div"); t.className = "track";
    const f = document.createElement("div"); f.className = "fill";
    f.style.width = (100 * c.probability).toFixed(1) + "%"; t.appendChild(f);
    const q = document.createElement("div"); q.className = "p";
    q.textContent = (100 * c.probability).toFixed(1) + "%";
    row.append(n, t, q); bars.appendChild(row);
  }
}

function fault(msg) { $("answer").textContent = ""; $("bars").textContent = ""; $("error").textContent = msg; }

async function post(body, type) {
  try {
    const r = await fetch("/predict", {method: "POST", headers: {"Content-Type": type}, body});
    const res = await r.json();
    if (!r.ok) return fault(res.error || ("HTTP " + r.status));
    show(res);
  } catch (e) { fault(String(e)); }
}

function classify(blob) {
  const img = $("preview");
  img.src = URL.createObjectURL(blob); img.style.display = "block";
  return post(blob, blob.type || "image/png");
}

if (MODE === "table") {
  $("imagebox").hidden = true; $("tablebox").hidden = false;
  const form = $("form");
  for (let i = 0; i < NFEATURES; i++) {
    const name = FEATURES ? FEATURES[i] : "x" + (i + 1);
    const l = document.createElement("label"); l.textContent = name + " ";
    const f = document.createElement("input");
    f.type = "number"; f.step = "any"; f.required = true; f.placeholder = name; f.name = name;
    l.appendChild(f); form.appendChild(l);
  }
  const b = document.createElement("button"); b.textContent = "Predict"; form.appendChild(b);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const row = Array.from(form.querySelectorAll("input")).map((f) => Number(f.value));
    post(JSON.stringify({instances: [row]}), "application/json");
  });
} else {
  $("file").addEventListener("change", (e) => { if (e.target.files[0]) classify(e.target.files[0]); });
  const drop = $("drop");
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault(); drop.classList.remove("over");
    if (e.dataTransfer.files[0]) classify(e.dataTransfer.files[0]);
  });
  if (location.hash.startsWith("#test=")) {
    fetch(decodeURIComponent(location.hash.slice(6))).then((r) => r.blob()).then(classify);
  }
}
</script></main></body></html>
]==]}
