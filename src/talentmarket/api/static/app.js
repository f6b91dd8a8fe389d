// talentmarket what-if dashboard: plain JavaScript over the service's JSON API.
// Every control edits the what-if; the answer (P(accept), waterfall, value distribution,
// response curve, what it would take) comes from POST /api/whatif. The page address always
// reproduces the current what-if.
"use strict";

const $ = (id) => document.getElementById(id);
const query = new URLSearchParams(window.location.search);
const TOKEN = query.get("token");
const PLOT_CONFIG = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["lasso2d", "select2d"] };
const FACTOR_LABELS = { peers: "colleagues" };

const state = {
  scenario: query.get("scenario") || "meta-tml-2025",
  researcher: query.get("researcher") || null,
  offer: query.get("offer") || null,
  scale: numberOr(query.get("scale"), 1),
  cash: numberOr(query.get("cash"), null),
  front: numberOr(query.get("front"), null),
  leader: query.get("leader") || null,
  mission: parseMission(query.get("mission")),
  target: numberOr(query.get("target"), 0.5),
  paths: numberOr(query.get("paths"), 5000),
};
let options = null;      // menus of the current scenario (from the last answer)
let optionsKey = null;   // scenario + offer the menus were built for
let last = null;         // the last answer
let sequence = 0;        // answers older than the newest request are dropped
let timer = null;
let marketPoll = null;

function numberOr(text, fallback) {
  if (text === null || text === "") return fallback;
  const x = Number(text);
  return Number.isFinite(x) ? x : fallback;
}

function parseMission(text) {
  if (!text) return null;
  const out = {};
  for (const part of text.split(",")) {
    const [k, v] = part.split(":");
    const x = Number(v);
    if (k && Number.isFinite(x)) out[k] = x;
  }
  return Object.keys(out).length ? out : null;
}

function usd(x) {
  if (x === null || x === undefined || !Number.isFinite(x)) return "—";
  const a = Math.abs(x);
  const sign = x < 0 ? "−" : "";
  for (const [div, suf] of [[1e12, "T"], [1e9, "B"], [1e6, "M"], [1e3, "k"]]) {
    if (a >= div) {
      const v = a / div;
      return `${sign}$${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)}${suf}`;
    }
  }
  return `${sign}$${a.toFixed(0)}`;
}

function pct(p) {
  if (p === null || p === undefined || !Number.isFinite(p)) return "—";
  if (p > 0 && p < 1e-5) return "< 0.001%";
  if (p > 0 && p < 0.01) return `${(100 * p).toPrecision(2)}%`;
  if (p > 0.999 && p < 1) return `${(100 * p).toFixed(2)}%`;
  return `${(100 * p).toFixed(1)}%`;
}

// Tick positions and labels of a money axis (values in USD), 1-2-5 steps on a log axis.
function moneyTicks(lo, hi, log) {
  const vals = [];
  if (!(hi > lo)) return { tickvals: [lo], ticktext: [usd(lo)] };
  if (log) {
    for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
      for (const m of [1, 2, 5]) {
        const v = m * Math.pow(10, e);
        if (v >= lo * 0.999 && v <= hi * 1.001) vals.push(v);
      }
    }
  } else {
    const raw = (hi - lo) / 5;
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) || 10 * mag;
    for (let v = Math.ceil(lo / step) * step; v <= hi; v += step) vals.push(v);
  }
  return { tickvals: vals, ticktext: vals.map(usd) };
}

async function api(method, path, body) {
  const headers = { "Accept": "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (TOKEN) headers["Authorization"] = `Bearer ${TOKEN}`;
  const response = await fetch(path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  let payload = null;
  try { payload = await response.json(); } catch (e) { payload = null; }
  if (!response.ok) {
    const err = new Error(payload && payload.message ? payload.message : `HTTP ${response.status}`);
    err.field = payload ? payload.field : null;
    err.status = response.status;
    throw err;
  }
  return payload;
}

function showError(err) {
  const banner = $("banner");
  if (!err) { banner.hidden = true; banner.textContent = ""; return; }
  banner.hidden = false;
  banner.textContent = err.field ? `${err.field}: ${err.message}` : err.message;
}

// --- the request and the link --------------------------------------------------------------

function whatifBody() {
  const body = {
    scenario: state.scenario, scale: state.scale, target: state.target, paths: state.paths,
  };
  if (state.researcher) body.researcher = state.researcher;
  if (state.offer) body.offer = state.offer;
  if (state.cash !== null) body.cash_fraction = state.cash;
  if (state.front !== null) body.front_loading = state.front;
  if (state.leader) body.leader = state.leader;
  if (state.mission) body.mission = state.mission;
  return body;
}

function linkQuery() {
  const q = new URLSearchParams();
  q.set("scenario", state.scenario);
  if (state.researcher) q.set("researcher", state.researcher);
  if (state.offer) q.set("offer", state.offer);
  q.set("scale", String(Number(state.scale.toPrecision(4))));
  if (state.cash !== null) q.set("cash", String(state.cash));
  if (state.front !== null) q.set("front", String(state.front));
  if (state.leader) q.set("leader", state.leader);
  if (state.mission) {
    q.set("mission", Object.entries(state.mission).map(([k, v]) => `${k}:${v}`).join(","));
  }
  if (state.target !== 0.5) q.set("target", String(state.target));
  if (state.paths !== 5000) q.set("paths", String(state.paths));
  return q.toString();
}

function updateLink() {
  const href = `${window.location.pathname}?${linkQuery()}`;
  $("permalink").setAttribute("href", href);
  // The token stays out of the address bar and the link (the page got it as a cookie).
  window.history.replaceState(null, "", href);
}

function schedule(delay = 90) {
  updateLink();
  if (timer) clearTimeout(timer);
  timer = setTimeout(refresh, delay);
}

async function refresh() {
  const mine = ++sequence;
  document.body.classList.add("busy");
  try {
    const answer = await api("POST", "/api/whatif", whatifBody());
    if (mine !== sequence) return;
    showError(null);
    last = answer;
    state.researcher = answer.researcher;
    state.offer = answer.offer;
    syncControls(answer);
    render(answer);
    updateLink();
  } catch (err) {
    if (mine === sequence) showError(err);
  } finally {
    if (mine === sequence) document.body.classList.remove("busy");
  }
}

// --- controls ------------------------------------------------------------------------------

function fillSelect(select, items, selected) {
  select.replaceChildren();
  for (const item of items) {
    const opt = document.createElement("option");
    opt.value = item.value;
    opt.textContent = item.label;
    if (item.value === selected) opt.selected = true;
    select.appendChild(opt);
  }
}

function syncControls(answer) {
  options = answer.options;
  const key = `${state.scenario}|${answer.offer}`;
  const rebuild = key !== optionsKey;
  optionsKey = key;
  const holders = options.researchers;
  fillSelect($("researcher"), holders.map((r) => ({ value: r.id, label: `${r.id} (${r.employer_name})` })),
    answer.researcher);
  if (options.researchers_total > holders.length) {
    const more = document.createElement("option");
    more.disabled = true;
    more.textContent = `… ${options.researchers_total - holders.length} more (researcher= in the link)`;
    $("researcher").appendChild(more);
  }
  if (!holders.some((r) => r.id === answer.researcher)) {
    const opt = document.createElement("option");
    opt.value = answer.researcher; opt.textContent = answer.researcher; opt.selected = true;
    $("researcher").prepend(opt);
  }
  const mine = holders.find((r) => r.id === answer.researcher);
  const held = mine ? mine.offers : [answer.offer];
  fillSelect($("offer"), options.offers.filter((o) => held.includes(o.id))
    .map((o) => ({ value: o.id, label: `${o.id} — ${o.from_name}, ${usd(o.headline_usd)}` })), answer.offer);

  const lab = options.lab;
  if (rebuild) {
    const leaders = options.leaders.slice();
    if (lab.leader && !leaders.includes(lab.leader)) leaders.unshift(lab.leader);
    fillSelect($("leader"), leaders.map((p) => ({ value: p, label: p === lab.leader ? `${p} (as written)` : p })),
      state.leader || lab.leader || "");
    buildMission(options.mission_areas, state.mission || lab.mission);
  }
  const written = options.as_written;
  const custom = state.cash !== null || state.front !== null;
  $("as-written").checked = !custom;
  $("cash").disabled = !custom || !lab.has_equity;
  $("front").disabled = !custom || !lab.has_equity;
  $("as-written").disabled = !lab.has_equity;
  const cash = state.cash !== null ? state.cash : written.cash_fraction;
  const front = state.front !== null ? state.front : written.front_loading;
  $("cash").value = cash;
  $("front").value = front;
  $("cash-out").textContent = `${Math.round(100 * cash)}%`;
  $("front-out").textContent = front.toFixed(2);
  $("scale").value = Math.log10(state.scale);
  $("scale-out").textContent = `${state.scale.toFixed(state.scale < 10 ? 2 : 1)}×`;
  $("target").value = state.target;
  $("paths").value = String(state.paths);
}

function buildMission(areas, profile) {
  const box = $("mission");
  box.replaceChildren();
  for (const area of areas) {
    const row = document.createElement("div");
    row.className = "mission-row";
    const name = document.createElement("label");
    name.textContent = area.replaceAll("_", " ");
    name.htmlFor = `mission-${area}`;
    const input = document.createElement("input");
    input.type = "range"; input.min = "0"; input.max = "2"; input.step = "0.05";
    input.id = `mission-${area}`;
    input.value = String(profile[area] || 0);
    const out = document.createElement("output");
    out.textContent = Number(input.value).toFixed(2);
    input.addEventListener("input", () => {
      out.textContent = Number(input.value).toFixed(2);
      const mission = {};
      for (const el of box.querySelectorAll("input")) {
        const v = Number(el.value);
        if (v !== 0) mission[el.id.slice("mission-".length)] = v;
      }
      state.mission = mission;
      schedule();
    });
    row.append(name, input, out);
    box.appendChild(row);
  }
}

function resetEdits() {
  state.scale = 1;
  state.cash = null;
  state.front = null;
  state.leader = null;
  state.mission = null;
  optionsKey = null;  // rebuild the lab's menus as written
}

function wireControls() {
  $("scenario").addEventListener("change", () => {
    state.scenario = $("scenario").value;
    state.researcher = null; state.offer = null;
    resetEdits();
    schedule(0);
    loadMarket();
  });
  $("researcher").addEventListener("change", () => {
    state.researcher = $("researcher").value;
    const mine = options && options.researchers.find((r) => r.id === state.researcher);
    if (mine && !mine.offers.includes(state.offer)) { state.offer = mine.offers[0]; resetEdits(); }
    schedule(0);
  });
  $("offer").addEventListener("change", () => {
    state.offer = $("offer").value;
    resetEdits();
    schedule(0);
  });
  $("scale").addEventListener("input", () => {
    state.scale = Math.pow(10, Number($("scale").value));
    $("scale-out").textContent = `${state.scale.toFixed(state.scale < 10 ? 2 : 1)}×`;
    schedule();
  });
  $("as-written").addEventListener("change", () => {
    if ($("as-written").checked) { state.cash = null; state.front = null; }
    else if (options) { state.cash = options.as_written.cash_fraction; state.front = options.as_written.front_loading; }
    schedule(0);
  });
  $("cash").addEventListener("input", () => {
    state.cash = Number($("cash").value);
    if (state.front === null) state.front = Number($("front").value);
    $("cash-out").textContent = `${Math.round(100 * state.cash)}%`;
    schedule();
  });
  $("front").addEventListener("input", () => {
    state.front = Number($("front").value);
    if (state.cash === null) state.cash = Number($("cash").value);
    $("front-out").textContent = state.front.toFixed(2);
    schedule();
  });
  $("leader").addEventListener("change", () => {
    const value = $("leader").value;
    state.leader = options && value === options.lab.leader ? null : value;
    schedule(0);
  });
  $("target").addEventListener("change", () => {
    const t = Number($("target").value);
    if (Number.isFinite(t) && t > 0 && t < 1) { state.target = t; schedule(0); }
  });
  $("paths").addEventListener("change", () => { state.paths = Number($("paths").value); schedule(0); });
  $("reset").addEventListener("click", () => { resetEdits(); schedule(0); });
  $("copy-link").addEventListener("click", async () => {
    const url = new URL($("permalink").getAttribute("href"), window.location.href).toString();
    try {
      await navigator.clipboard.writeText(url);
      $("copy-link").textContent = "Copied";
    } catch (e) {
      $("copy-link").textContent = "Select the link";
    }
    setTimeout(() => { $("copy-link").textContent = "Copy"; }, 1500);
  });
  $("simulate").addEventListener("click", runMarket);
}

// --- rendering -----------------------------------------------------------------------------

function render(a) {
  const p = a.probability;
  $("p-accept").textContent = pct(p);
  $("p-meter").style.width = `${Math.max(0, Math.min(1, p)) * 100}%`;
  $("p-target").style.left = `${a.what_it_takes.target * 100}%`;
  const stay = a.probabilities.stay;
  $("p-note").textContent = `${a.researcher} at ${a.employer}: stays with ${pct(stay)}`;
  const v = a.value;
  $("k-headline").textContent = usd(v.headline_usd);
  $("k-pv").textContent = usd(v.expected_pv_usd);
  $("k-pv-note").textContent = `5%–95%: ${usd(v.pv_quantiles_usd.p05)} – ${usd(v.pv_quantiles_usd.p95)}`;
  $("k-ce").textContent = usd(v.certainty_equivalent_usd);
  $("k-ce-note").textContent = `to this person (wealth ${usd(a.person.wealth_usd)}, risk aversion ${a.person.risk_aversion.toFixed(2)})`;
  $("k-cost").textContent = usd(v.employer_cost_usd);
  const mw = a.make_whole_headline_usd;
  $("scale-hint").textContent = mw > 0
    ? `Headline ${usd(v.headline_usd)}, including a make-whole of ${usd(mw)} (not scaled)`
    : `Headline ${usd(v.headline_usd)}`;
  $("takes-text").textContent = a.what_it_takes.sentence;
  $("foot").textContent = `Scenario ${a.scenario} (hash ${a.scenario_hash}${a.edited ? ", edited" : ""}) · seed ${a.seed} · ${a.paths.toLocaleString()} paths · offer ${a.offer} from ${a.lab}`;
  if (typeof Plotly === "undefined") return;
  drawWaterfall(a);
  drawDistribution(a);
  drawCurve(a);
}

const BASE_LAYOUT = {
  margin: { l: 60, r: 20, t: 10, b: 50 },
  paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)",
  font: { family: "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", size: 12, color: "#1f2933" },
};

function drawWaterfall(a) {
  const rows = a.waterfall;
  const labels = rows.map((r) => FACTOR_LABELS[r.factor] || r.factor);
  const values = rows.map((r) => r.utility || 0);
  const total = values.reduce((s, x) => s + x, 0);
  const text = rows.map((r) => {
    if (r.factor === "money") return usd(r.money_equivalent_usd);
    if (Math.abs(r.utility || 0) < 1e-12) return "";
    if (r.no_amount) return "no amount";
    return usd(r.money_equivalent_usd);
  });
  const trace = {
    type: "waterfall",
    x: [...labels, "total"],
    y: [...values, 0],
    measure: [...labels.map(() => "relative"), "total"],
    text: [...text, total.toFixed(2)],
    textposition: "outside",
    cliponaxis: false,
    hovertemplate: "%{x}: %{delta:+.2f} utils<extra></extra>",
    increasing: { marker: { color: "#27ab83" } },
    decreasing: { marker: { color: "#d64545" } },
    totals: { marker: { color: total >= 0 ? "#2680c2" : "#829ab1" } },
    connector: { line: { color: "#9fb3c8", width: 1 } },
  };
  const layout = {
    ...BASE_LAYOUT,
    margin: { l: 60, r: 20, t: 24, b: 40 },
    yaxis: { title: { text: "utility (offer − staying)" }, zeroline: true, zerolinecolor: "#829ab1", automargin: true },
    showlegend: false,
  };
  Plotly.react("waterfall", [trace], layout, PLOT_CONFIG);
}

function drawDistribution(a) {
  const h = a.value.histogram;
  const mids = [];
  const widths = [];
  for (let i = 0; i + 1 < h.edges_usd.length; i++) {
    mids.push((h.edges_usd[i] + h.edges_usd[i + 1]) / 2);
    widths.push(h.edges_usd[i + 1] - h.edges_usd[i]);
  }
  const head = a.value.headline_usd;
  const mean = a.value.mean_realized_usd;
  const lo = Math.min(h.edges_usd[0], head, mean);
  const hi = Math.max(h.edges_usd[h.edges_usd.length - 1], head * 1.05, mean);
  const top = Math.max(...h.share, 0.01);
  const trace = {
    type: "bar", x: mids, y: h.share, width: widths, marker: { color: "#486581" },
    customdata: mids.map(usd),
    hovertemplate: "%{customdata}: %{y:.1%} of paths<extra></extra>", name: "paths",
  };
  const line = (x, color, dash, label) => ({
    type: "scatter", mode: "lines", x: [x, x], y: [0, top * 1.08],
    line: { color, dash, width: 2 }, name: label, hoverinfo: "name",
  });
  const layout = {
    ...BASE_LAYOUT,
    xaxis: { title: { text: "realized value over the horizon (USD)" },
      range: [lo, hi], ...moneyTicks(lo, hi, false) },
    yaxis: { title: { text: "share of paths" }, tickformat: ".0%" },
    bargap: 0.02,
    legend: { orientation: "h", y: 1.12, x: 0 },
    margin: { l: 60, r: 20, t: 30, b: 50 },
  };
  Plotly.react("distribution", [trace, line(head, "#d64545", "dash", `headline ${usd(a.value.headline_usd)}`),
    line(mean, "#27ab83", "solid", `mean ${usd(a.value.mean_realized_usd)}`)], layout, PLOT_CONFIG);
}

function drawCurve(a) {
  const c = a.curve;
  const xs = c.headline_usd;
  const traces = [{
    type: "scatter", mode: "lines", x: xs, y: c.probability, name: "P(accept)",
    line: { color: "#2680c2", width: 2.5 }, customdata: xs.map(usd),
    hovertemplate: "%{customdata} headline: P = %{y:.3g}<extra></extra>",
  }, {
    type: "scatter", mode: "markers", x: [a.value.headline_usd], y: [a.probability],
    name: "this what-if", marker: { size: 11, color: "#f0b429", line: { color: "#102a43", width: 1.5 } },
    customdata: [usd(a.value.headline_usd)],
    hovertemplate: "now: %{customdata}, P = %{y:.3g}<extra></extra>",
  }];
  const t = a.what_it_takes;
  traces.push({
    type: "scatter", mode: "lines", x: [Math.min(...xs), Math.max(...xs)], y: [t.target, t.target],
    name: `target ${t.target}`, line: { color: "#d64545", dash: "dot", width: 1.5 }, hoverinfo: "name",
  });
  if (t.status === "ok" && t.headline_usd) {
    traces.push({
      type: "scatter", mode: "markers", x: [t.headline_usd], y: [t.target], name: "what it takes",
      marker: { size: 10, symbol: "diamond", color: "#d64545" }, customdata: [usd(t.headline_usd)],
      hovertemplate: "what it takes: %{customdata}<extra></extra>",
    });
  }
  const layout = {
    ...BASE_LAYOUT,
    xaxis: { type: "log", title: { text: "headline of the offer (USD, log scale)" },
      ...moneyTicks(Math.min(...xs), Math.max(...xs), true) },
    yaxis: { title: { text: "P(accept)" }, range: [0, 1.02], tickformat: ".0%" },
    legend: { orientation: "h", y: 1.12, x: 0 },
    margin: { l: 60, r: 20, t: 30, b: 50 },
  };
  Plotly.react("curve", traces, layout, PLOT_CONFIG);
}

// --- market --------------------------------------------------------------------------------

async function loadMarket() {
  const status = $("market-status");
  $("sankey").hidden = true;
  $("market-table").hidden = true;
  if (marketPoll) { clearTimeout(marketPoll); marketPoll = null; }
  try {
    const health = await api("GET", "/health");
    const kind = health.job_kinds && health.job_kinds.simulate;
    const available = !kind || kind.available;
    $("simulate").disabled = !available;
    const name = encodeURIComponent(state.scenario);
    const listing = await api("GET", `/api/jobs?scenario=${name}&kind=simulate&limit=5`);
    const jobs = listing.jobs;
    const pending = jobs.find((j) => j.status === "queued" || j.status === "running");
    const done = jobs.find((j) => j.status === "done");
    if (pending) watchJob(pending.id);
    if (done) showMarket(await api("GET", `/api/jobs/${done.id}`));
    else if (!available) status.textContent = `Market simulation: ${kind.reason}.`;
    else if (!pending && jobs.length) status.textContent = `The last simulation failed: ${jobs[0].error ? jobs[0].error.message : "unknown error"}`;
    else if (!pending) status.textContent = "No simulation of this scenario yet: run one to see who moves where.";
  } catch (err) {
    status.textContent = `Market view unavailable: ${err.message}`;
  }
}

async function runMarket() {
  const body = { kind: "simulate", scenario: state.scenario, paths: Math.min(state.paths, 5000) };
  const engine = $("engine").value;
  if (engine) body.engine = engine;
  try {
    const job = await api("POST", "/api/jobs", body);
    watchJob(job.id);
  } catch (err) {
    $("market-status").textContent = `Could not start the simulation: ${err.message}`;
  }
}

function watchJob(id) {
  const status = $("market-status");
  $("simulate").disabled = true;
  const poll = async () => {
    try {
      const job = await api("GET", `/api/jobs/${id}`);
      if (job.status === "done") { $("simulate").disabled = false; showMarket(job); return; }
      if (job.status === "failed") {
        $("simulate").disabled = false;
        status.textContent = `The simulation failed: ${job.error ? job.error.message : "unknown error"}`;
        return;
      }
      status.textContent = `Simulation ${job.status}… (job ${id.slice(0, 8)})`;
      marketPoll = setTimeout(poll, 1000);
    } catch (err) {
      $("simulate").disabled = false;
      status.textContent = `Lost track of the simulation: ${err.message}`;
    }
  };
  poll();
}

function showMarket(job) {
  const result = job.result || {};
  const flows = (job.summary && job.summary.flows) || [];
  const moves = result.moves !== undefined ? result.moves : flows.filter((f) => f.from !== f.to).reduce((s, f) => s + f.count, 0);
  $("market-status").textContent =
    `${result.engine || "market"} simulation (seed ${result.seed}, finished ${job.finished_at}): ` +
    `${moves} of ${result.researchers ?? "?"} researchers moved; ${result.blocking_pairs ?? "?"} blocking pairs.` +
    refusalText(result.refusals);
  if (flows.length && typeof Plotly !== "undefined") {
    const labs = [...new Set(flows.flatMap((f) => [f.from, f.to]))].sort();
    const nodes = [...labs.map((l) => `${l} (before)`), ...labs.map((l) => `${l} (after)`)];
    const palette = ["#334e68", "#d64545", "#27ab83", "#f0b429", "#2680c2", "#9446ed", "#8d2b0b"];
    const color = (l) => palette[labs.indexOf(l) % palette.length];
    const trace = {
      type: "sankey",
      node: { label: nodes, pad: 18, thickness: 16, color: [...labs.map(color), ...labs.map(color)] },
      link: {
        source: flows.map((f) => labs.indexOf(f.from)),
        target: flows.map((f) => labs.length + labs.indexOf(f.to)),
        value: flows.map((f) => f.count),
        color: flows.map((f) => (f.from === f.to ? "rgba(159,179,200,0.45)" : "rgba(214,69,69,0.45)")),
        hovertemplate: "%{source.label} → %{target.label}: %{value}<extra></extra>",
      },
    };
    $("sankey").hidden = false;
    Plotly.react("sankey", [trace], { ...BASE_LAYOUT, margin: { l: 10, r: 10, t: 10, b: 10 } }, PLOT_CONFIG);
  }
  if (Array.isArray(result.labs) && result.labs.length) {
    const table = $("market-table");
    const head = "<tr><th>lab</th><th>before</th><th>after</th><th>hires</th><th>spend</th><th>budget left</th></tr>";
    const rows = result.labs.map((r) => `<tr><td>${escapeHtml(String(r.lab))}</td><td>${r.headcount_start}</td>` +
      `<td>${r.headcount_end}</td><td>${r.hires}</td><td>${usd(r.spend_usd)}</td>` +
      `<td>${r.remaining_budget_usd === null ? "unlimited" : usd(r.remaining_budget_usd)}</td></tr>`);
    table.innerHTML = head + rows.join("");
    table.hidden = false;
  }
}

function refusalText(refusals) {
  if (!Array.isArray(refusals) || !refusals.length) return "";
  const most = refusals.filter((r) => r.refused).sort((x, y) => y.refused - x.refused);
  const parts = most.slice(0, 4).map((r) => {
    const reasons = Object.entries(r.top_reasons || {}).sort((x, y) => y[1] - x[1])
      .slice(0, 3).map(([k, n]) => `${FACTOR_LABELS[k] || k} ${n}`).join(", ");
    return `${r.lab}: ${r.refused} refused${reasons ? ` (top reasons: ${reasons})` : ""}`;
  });
  const more = most.length > 4 ? `; ${most.length - 4} more labs` : "";
  return parts.length ? ` Refusals — ${parts.join("; ")}${more}.` : "";
}

function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

// --- start ---------------------------------------------------------------------------------

async function start() {
  wireControls();
  try {
    const listing = await api("GET", "/api/scenarios");
    const items = listing.scenarios.map((s) => ({
      value: s.name, label: s.source === "builtin" ? `${s.name} (built-in)` : s.name,
    }));
    if (!items.some((i) => i.value === state.scenario) && items.length) state.scenario = items[0].value;
    fillSelect($("scenario"), items, state.scenario);
  } catch (err) {
    showError(err);
    return;
  }
  updateLink();
  await refresh();
  loadMarket();
}

document.addEventListener("DOMContentLoaded", start);
