// vui serve's page: tabs, the model's status, uploads, and the transcript view.
// Plain ES modules, no build step and nothing fetched from outside the server.
import { LiveRecorder } from "/static/live.js";
import { showRuns } from "/static/runs.js";

const HEALTH_POLL_MS = 1500;          // how often the page asks whether the model is ready
const $ = (id) => document.getElementById(id);

function setStatus(text, isError = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", isError);
}

// A transcript's words as spans: shaded by confidence, time and confidence on hover.
export function renderTranscript(result, state) {
  const box = $("transcript");
  box.replaceChildren();
  for (const w of result.words || []) {
    const span = document.createElement("span");
    span.className = "word";
    span.textContent = w.text;
    span.style.setProperty("--confidence", String(w.confidence));
    span.title = `${w.start.toFixed(2)}–${w.end.toFixed(2)} s · confidence ${w.confidence.toFixed(2)}`;
    Object.assign(span.dataset, { start: w.start, end: w.end, confidence: w.confidence });
    box.append(span, " ");
  }
  box.dataset.state = state;
  box.dataset.text = result.transcript || "";
  const took = result.seconds !== undefined ? `, decoded in ${(result.seconds * 1000).toFixed(0)} ms` : "";
  $("details").textContent =
    `${(result.audio_seconds || 0).toFixed(2)} s of audio, model ${result.model}, ` +
    `decoder ${result.decoder}${took}`;
}

function decoderChoice() {
  return { decoder: $("decoder").value, hotwords: $("hotwords").value.trim() };
}

async function errorText(response) {
  try {
    const body = await response.json();
    return body.error || JSON.stringify(body);
  } catch (_) {
    return `${response.status} ${response.statusText}`;
  }
}

async function upload(event) {
  event.preventDefault();
  const file = $("file").files[0];
  if (!file) { setStatus("choose an audio file first", true); return; }
  const form = new FormData();
  form.append("file", file);
  const { decoder, hotwords } = decoderChoice();
  form.append("decoder", decoder);
  if (hotwords) form.append("hotwords", hotwords);
  setStatus(`transcribing ${file.name}…`);
  $("transcript").dataset.state = "working";
  const response = await fetch("/transcribe", { method: "POST", body: form });
  if (!response.ok) {
    $("transcript").dataset.state = "error";
    setStatus(`${file.name}: ${await errorText(response)}`, true);
    return;
  }
  renderTranscript(await response.json(), "done");
  setStatus(`${file.name} transcribed`);
}

let recorder = null;

async function toggleRecording() {
  const button = $("record");
  if (recorder) {
    button.disabled = true;
    setStatus("finishing…");
    await recorder.stop();
    return;
  }
  const box = $("transcript");
  box.dataset.partials = "0";
  recorder = new LiveRecorder({
    ...decoderChoice(),
    onPartial: (result) => {
      box.dataset.partials = String(Number(box.dataset.partials) + 1);
      renderTranscript(result, "partial");
      setStatus(`listening… ${result.audio_seconds.toFixed(1)} s heard`);
    },
    onFinal: (result) => {
      renderTranscript(result, "final");
      setStatus(`done: ${result.audio_seconds.toFixed(1)} s, final transcript ` +
                `${(result.final_delay * 1000).toFixed(0)} ms after you stopped`);
    },
    onError: (message) => setStatus(message, true),
    onEnd: () => {
      recorder = null;
      button.textContent = "Record";
      button.classList.remove("recording");
      button.disabled = false;
    },
  });
  try {
    await recorder.start();
  } catch (err) {
    setStatus(`cannot record: ${err.message || err}`, true);
    recorder.abort();
    return;
  }
  button.textContent = "Stop";
  button.classList.add("recording");
  box.dataset.state = "listening";
  setStatus("listening…");
}

async function pollHealth() {
  let health;
  try {
    health = await (await fetch("/health")).json();
  } catch (_) {
    health = { status: "loading", model: "(server not answering)" };
  }
  const label = $("model-status");
  label.dataset.status = health.status;
  label.textContent = {
    loading: `loading model ${health.model}…`,
    ready: `model: ${health.model}`,
    failed: health.error,
    none: "no model loaded (start vui serve with --model): runs view only",
  }[health.status] || health.status;
  const ready = health.status === "ready";
  $("record").disabled = !ready || !window.isSecureContext;
  $("upload").disabled = !ready;
  if (ready && !window.isSecureContext) {
    setStatus("recording needs a secure page: open it as http://127.0.0.1 or over https", true);
  }
  if (health.status === "loading") setTimeout(pollHealth, HEALTH_POLL_MS);
}

function showView(name) {
  for (const tab of document.querySelectorAll(".tab")) {
    tab.setAttribute("aria-selected", String(tab.dataset.view === name));
  }
  $("view-transcribe").hidden = name !== "transcribe";
  $("view-runs").hidden = name !== "runs";
  if (name === "runs") showRuns();
}

for (const tab of document.querySelectorAll(".tab")) {
  tab.addEventListener("click", () => showView(tab.dataset.view));
}
$("upload-form").addEventListener("submit", (e) => upload(e).catch((err) => setStatus(String(err), true)));
$("record").addEventListener("click", () => toggleRecording().catch((err) => setStatus(String(err), true)));
if (location.hash === "#runs") showView("runs");
pollHealth();
