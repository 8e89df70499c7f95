// The runs view: every run's train (dashed) and validation (solid) loss per epoch on one SVG,
// like T.plot_comparison, and their CER/WER table, whose checkboxes pick the runs drawn.
const SVG_NS = "http://www.w3.org/2000/svg";
const WIDTH = 900, HEIGHT = 420;
const MARGIN = { left: 60, right: 20, top: 20, bottom: 45 };
const Y_TICKS = 5;
const COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                 "#7f7f7f", "#bcbd22", "#17becf"];      // matplotlib's tab10, as plot_comparison

const $ = (id) => document.getElementById(id);
let runs = [];
const hidden = new Set();                              // run names the user unticked

export async function showRuns() {
  $("runs-status").textContent = "loading runs…";
  const response = await fetch("/runs");
  const body = await response.json();
  if (!response.ok) { $("runs-status").textContent = body.error || response.statusText; return; }
  runs = body.runs;
  const skipped = body.skipped.length ? `; ${body.skipped.length} unreadable file(s) skipped: ` +
    body.skipped.map((s) => `${s.file} (${s.error})`).join(", ") : "";
  $("runs-status").textContent = `${runs.length} run(s) under ${body.results_dir}${skipped}`;
  renderTable();
  drawChart();
}

const colour = (i) => COLOURS[i % COLOURS.length];
const shown = () => runs.map((run, i) => ({ run, i })).filter(({ run }) => !hidden.has(run.name));

function percent(value) {
  return value === null || value === undefined ? "–" : `${(value * 100).toFixed(1)}%`;
}

function cell(row, text, numeric = false) {
  const td = document.createElement("td");
  td.textContent = text;
  if (numeric) td.className = "num";
  row.append(td);
  return td;
}

function renderTable() {
  const body = $("runs-table").tBodies[0];
  body.replaceChildren();
  runs.forEach((run, i) => {
    const row = document.createElement("tr");
    const pick = document.createElement("input");
    pick.type = "checkbox";
    pick.checked = !hidden.has(run.name);
    pick.setAttribute("aria-label", `show ${run.name}`);
    pick.addEventListener("change", () => {
      if (pick.checked) hidden.delete(run.name); else hidden.add(run.name);
      drawChart();
    });
    cell(row, "").append(pick);
    const name = cell(row, "");
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = colour(i);
    name.append(swatch, run.name);
    cell(row, String(run.epochs), true);
    cell(row, run.best_val_loss === null ? "–" : run.best_val_loss.toFixed(2), true);
    cell(row, percent(run.cer), true);
    cell(row, percent(run.wer), true);
    cell(row, run.completed ? "yes" : "no");
    body.append(row);
  });
}

function svg(tag, attributes, parent) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  parent.append(node);
  return node;
}

function niceTicks(low, high, count) {
  const span = high - low || 1;
  const raw = span / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw);
  const ticks = [];
  for (let t = Math.ceil(low / step) * step; t <= high + 1e-9; t += step) ticks.push(t);
  return ticks;
}

function scales(selection) {
  const values = selection.flatMap(({ run }) => [...run.loss, ...run.val_loss])
    .filter((v) => v !== null);
  const epochs = Math.max(2, ...selection.map(({ run }) => run.epochs));
  let low = values.length ? Math.min(...values) : 0;
  let high = values.length ? Math.max(...values) : 1;
  if (high === low) { low -= 1; high += 1; }
  const pad = (high - low) * 0.05;
  low -= pad; high += pad;
  const plotW = WIDTH - MARGIN.left - MARGIN.right, plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  return {
    epochs, low, high,
    x: (epoch) => MARGIN.left + ((epoch - 1) / (epochs - 1)) * plotW,
    y: (loss) => MARGIN.top + (1 - (loss - low) / (high - low)) * plotH,
  };
}

function drawAxes(chart, s) {
  const bottom = HEIGHT - MARGIN.bottom;
  for (const t of niceTicks(s.low, s.high, Y_TICKS)) {
    svg("line", { class: "grid", x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: s.y(t), y2: s.y(t) }, chart);
    svg("text", { x: MARGIN.left - 6, y: s.y(t) + 4, "text-anchor": "end" }, chart).textContent = t.toPrecision(3);
  }
  for (const e of niceTicks(1, s.epochs, Math.min(10, s.epochs - 1)).filter(Number.isInteger)) {
    svg("text", { x: s.x(e), y: bottom + 16, "text-anchor": "middle" }, chart).textContent = e;
  }
  svg("line", { class: "axis", x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: bottom, y2: bottom }, chart);
  svg("line", { class: "axis", x1: MARGIN.left, x2: MARGIN.left, y1: MARGIN.top, y2: bottom }, chart);
  svg("text", { x: (WIDTH + MARGIN.left) / 2, y: HEIGHT - 8, "text-anchor": "middle" }, chart)
    .textContent = "epoch";
  svg("text", { x: 14, y: HEIGHT / 2, transform: `rotate(-90 14 ${HEIGHT / 2})`, "text-anchor": "middle" }, chart)
    .textContent = "CTC loss (dashed: train, solid: validation)";
}

// An SVG path through the finite points; a gap (NaN epoch) starts a new segment.
function pathData(values, s) {
  let d = "", pen = "M";
  values.forEach((v, k) => {
    if (v === null) { pen = "M"; return; }
    d += `${pen}${s.x(k + 1).toFixed(1)},${s.y(v).toFixed(1)} `;
    pen = "L";
  });
  return d.trim();
}

function drawCurves(chart, s, run, i) {
  for (const [kind, values] of [["train", run.loss], ["val", run.val_loss]]) {
    const d = pathData(values, s);
    if (!d) continue;
    const path = svg("path", { class: `curve ${kind}`, d, stroke: colour(i) }, chart);
    path.dataset.run = run.name;
    svg("title", {}, path).textContent = `${run.name}: ${kind === "train" ? "train" : "validation"} loss`;
    values.forEach((v, k) => {                            // markers: a 1-epoch run still shows
      if (v !== null) svg("circle", { cx: s.x(k + 1), cy: s.y(v), r: 2.5, fill: colour(i) }, chart);
    });
  }
}

export function drawChart() {
  const chart = $("runs-chart");
  chart.replaceChildren();
  const selection = shown();
  if (!selection.length) {
    svg("text", { x: WIDTH / 2, y: HEIGHT / 2, "text-anchor": "middle" }, chart).textContent =
      runs.length ? "no run selected" : "no runs yet: train a model (vui train)";
    return;
  }
  const s = scales(selection);
  drawAxes(chart, s);
  for (const { run, i } of selection) drawCurves(chart, s, run, i);
  chart.dataset.curves = String(chart.querySelectorAll("path.curve").length);
}
