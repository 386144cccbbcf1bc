// Wires the page together: the drawing pad, the prediction client and the views.

import { PredictionClient } from "./client.js";
import { FeatureMapView } from "./feature-maps.js";
import { kernelsOf, percent, renderModelCard } from "./model-card.js";
import { cssGradient, decodeMaps, DIVERGING, drawInput, SEQUENTIAL } from "./pixels.js";
import { SketchPad } from "./sketchpad.js";

const $ = (selector) => document.querySelector(selector);

const canvas = $('[data-testid="draw-canvas"]');
const pad = new SketchPad(canvas, { lineWidth: Number($("#brush").value) });
const answer = $("#answer");
const digitView = $('[data-testid="prediction"]');
const confidenceView = $("#confidence");
const verdictNote = $("#verdict-note");
const emptyHint = $("#empty-hint");
const errorView = $("#error");
const announcer = $("#announcer");
const badge = $("#pad-badge");
const bars = [...document.querySelectorAll('[data-testid="probabilities"] > li')];
const networkInput = $('[data-testid="network-input"]');
const uploadInput = $('[data-testid="upload"]');
const dropZone = $("#drop-zone");
const uploadPreview = $("#upload-preview");
const undoButton = $('[data-testid="undo"]');
const redoButton = $("#redo");
const clearButton = $('[data-testid="clear"]');

const featureMaps = new FeatureMapView({
  grid: $('[data-testid="feature-maps"]'),
  detail: $("#map-detail"),
  legendMax: $("#legend-max"),
});

let lastAnnouncement = "";
let uploadCount = 0;
let previewUrl = null;

// --- showing answers ---------------------------------------------------------------------

function formatShare(p) {
  if (p >= 0.995 && p < 1) return ">99%";
  if (p > 0 && p < 0.01) return "<1%";
  return `${Math.round(p * 100)}%`;
}

/** Confidence as text; never "100%", which a probability from softmax is not. */
function formatConfidence(p) {
  return p >= 0.9995 ? ">99.9%" : percent(p);
}

// A dot, or a stroke much shorter than the brush is wide, is a blot and not a digit yet: the
// server would answer "no digit found" (it does for lengths below about a quarter of the brush).
function tooSmallToRead() {
  const { span, brush } = pad.extent();
  return span < Math.max(4, 0.4 * brush);
}

function showResult(result, tag) {
  errorView.hidden = true;
  emptyHint.hidden = true;
  const { digit, confidence, probabilities } = result;
  digitView.textContent = String(digit);
  confidenceView.textContent = `${formatConfidence(confidence)} sure`;
  badge.textContent = `${digit} · ${formatShare(confidence)}`;
  const ranked = probabilities.map((p, d) => [p, d]).sort((a, b) => b[0] - a[0]);
  if (confidence < 0.6) {
    verdictNote.textContent = `Unsure — the runner-up is ${ranked[1][1]} (${percent(ranked[1][0], 0)}).`;
  } else {
    verdictNote.textContent = confidence < 0.9 ? "Fairly sure." : "Confident.";
  }
  for (const bar of bars) {
    const d = Number(bar.dataset.digit);
    const p = probabilities[d];
    bar.querySelector(".bar-fill").style.width = `${(p * 100).toFixed(1)}%`;
    bar.querySelector(".bar-value").textContent = formatShare(p);
    bar.classList.toggle("top", d === digit);
  }
  drawInput(networkInput, result.input);
  if (result.feature_maps) {
    featureMaps.show(decodeMaps(result.feature_maps), result.pooled_maps ? decodeMaps(result.pooled_maps) : null);
  }
  answer.dataset.state = "answer";
  answer.dataset.renderedVersion = String(tag.version);
  if (tag.final) announce(`The network reads ${digit}, ${percent(confidence, 0)} sure.`);
}

/** No digit on screen: the blank canvas's answer (versions in step, nothing to wait for). */
function showEmpty() {
  resetAnswer();
  answer.dataset.state = "empty";
  answer.dataset.requestedVersion = String(pad.version);
  answer.dataset.renderedVersion = String(pad.version);
}

function resetAnswer() {
  digitView.textContent = "";
  confidenceView.textContent = "";
  verdictNote.textContent = "";
  badge.textContent = "";
  emptyHint.textContent = "Draw a digit and the network’s answer appears here.";
  emptyHint.hidden = false;
  for (const bar of bars) {
    bar.querySelector(".bar-fill").style.width = "0%";
    bar.querySelector(".bar-value").textContent = "–";
    bar.classList.remove("top");
  }
  const context = networkInput.getContext("2d");
  context.clearRect(0, 0, networkInput.width, networkInput.height);
  featureMaps.show(null, null);
  errorView.hidden = true;
  lastAnnouncement = "";
}

function showError(error, tag) {
  resetAnswer();
  emptyHint.hidden = true;
  const advice = {
    no_digit_found: "Draw a bit larger, or upload an image with a clear digit.",
    invalid_image: "Try a PNG, JPEG, WebP, GIF or BMP image.",
    unsupported_media_type: "Try a PNG, JPEG, WebP, GIF or BMP image.",
    image_too_large: "Try a smaller image.",
    payload_too_large: "Try a smaller image file.",
  }[error.code];
  errorView.textContent = `${error.message}${advice ? ` ${advice}` : ""}`;
  errorView.hidden = false;
  answer.dataset.state = "error";
  if (tag) answer.dataset.renderedVersion = String(tag.version);
  announce(`No answer: ${errorView.textContent}`);
}

function announce(text) {
  if (text === lastAnnouncement) return;
  lastAnnouncement = text;
  announcer.textContent = text;
}

// --- requests ----------------------------------------------------------------------------

const client = new PredictionClient({ onResult: showResult, onError: showError });

/** The drawing as JSON {"image": PNG data URL} — encoded synchronously, sent at once. */
function drawingJob(final) {
  return () => ({
    tag: { version: pad.version, final },
    body: JSON.stringify({ image: pad.toDataURL() }),
    headers: { "Content-Type": "application/json" },
  });
}

/** Ask for a prediction of the drawing — never for a blank canvas. */
function predictDrawing({ final }) {
  if (pad.isEmpty()) {
    client.cancel();
    showEmpty();
    return;
  }
  if (tooSmallToRead()) {
    if (final) {
      client.cancel();
      showEmpty();
      emptyHint.textContent = "That is a dot so far — keep drawing to make a digit.";
    }
    return;
  }
  // The answer's data-requested-version / data-rendered-version tell tests (and bench/page.py)
  // when the answer on screen belongs to the newest drawing.
  answer.dataset.requestedVersion = String(pad.version);
  client.submit(drawingJob(final), { urgent: final });
}

function predictFile(file) {
  if (!file) return;
  pad.clear(); // the upload replaces the drawing (undo brings the drawing back)
  hidePreview();
  previewUrl = URL.createObjectURL(file);
  uploadPreview.src = previewUrl;
  uploadPreview.alt = `Uploaded image: ${file.name}`;
  uploadPreview.hidden = false;
  uploadCount += 1;
  const tag = { version: `upload-${uploadCount}`, final: true };
  answer.dataset.requestedVersion = tag.version;
  client.submit(
    () => {
      const form = new FormData();
      form.append("image", file, file.name);
      return { tag, body: Promise.resolve(form) };
    },
    { urgent: true },
  );
  updateButtons();
}

function hidePreview() {
  uploadPreview.hidden = true;
  uploadPreview.removeAttribute("src");
  if (previewUrl) URL.revokeObjectURL(previewUrl);
  previewUrl = null;
}

// --- controls ----------------------------------------------------------------------------

function updateButtons() {
  undoButton.disabled = !pad.canUndo();
  redoButton.disabled = !pad.canRedo();
  clearButton.disabled = pad.isEmpty() && uploadPreview.hidden;
}

pad.addEventListener("strokestart", () => {
  hidePreview();
  predictDrawing({ final: false });
  updateButtons();
});
pad.addEventListener("strokemove", () => predictDrawing({ final: false }));
pad.addEventListener("strokeend", () => {
  predictDrawing({ final: true });
  updateButtons();
});
pad.addEventListener("change", () => {
  hidePreview();
  predictDrawing({ final: true });
  updateButtons();
});
pad.on();

function clearAll() {
  const hadUpload = !uploadPreview.hidden;
  hidePreview();
  pad.clear();
  if (hadUpload) {
    client.cancel();
    showEmpty();
  }
  uploadInput.value = "";
  updateButtons();
}

undoButton.addEventListener("click", () => pad.undo());
redoButton.addEventListener("click", () => pad.redo());
clearButton.addEventListener("click", clearAll);

const brush = $("#brush");
const brushValue = $("#brush-value");
brush.addEventListener("input", () => {
  pad.lineWidth = Number(brush.value);
  brushValue.textContent = `${brush.value} px`;
});

document.addEventListener("keydown", (event) => {
  const key = event.key.toLowerCase();
  if ((event.ctrlKey || event.metaKey) && !event.altKey && (key === "z" || key === "y")) {
    event.preventDefault();
    if (key === "y" || event.shiftKey) pad.redo();
    else pad.undo();
  } else if (event.key === "Escape" && !event.ctrlKey && !event.metaKey && !event.altKey) {
    clearAll();
  }
});

uploadInput.addEventListener("change", () => {
  const file = uploadInput.files[0];
  uploadInput.value = ""; // choosing the same file again must still fire "change"
  predictFile(file);
});

// Drag and drop an image file onto the drawing area.
let dragDepth = 0;
dropZone.addEventListener("dragenter", (event) => {
  if (![...event.dataTransfer.types].includes("Files")) return;
  event.preventDefault();
  dragDepth += 1;
  dropZone.classList.add("dragging");
});
dropZone.addEventListener("dragover", (event) => {
  if (![...event.dataTransfer.types].includes("Files")) return;
  event.preventDefault();
  event.dataTransfer.dropEffect = "copy";
});
dropZone.addEventListener("dragleave", () => {
  dragDepth = Math.max(0, dragDepth - 1);
  if (dragDepth === 0) dropZone.classList.remove("dragging");
});
dropZone.addEventListener("drop", (event) => {
  event.preventDefault();
  dragDepth = 0;
  dropZone.classList.remove("dragging");
  const file = [...(event.dataTransfer?.files ?? [])][0];
  if (file) predictFile(file);
});

// --- the model card ----------------------------------------------------------------------

$("#legend-maps").style.backgroundImage = cssGradient(SEQUENTIAL);
for (const bar of document.querySelectorAll(".legend-filters")) bar.style.backgroundImage = cssGradient(DIVERGING);

const modelParts = {
  summary: $("#model-summary"),
  architecture: $("#model-architecture"),
  curves: $("#model-curves"),
  confusion: $("#model-confusion"),
  filters: $("#model-filters"),
};

async function loadModelCard() {
  try {
    const response = await fetch("/api/model");
    const card = await response.json();
    if (!response.ok) throw new Error(card?.error?.message ?? `HTTP ${response.status}`);
    renderModelCard(modelParts, card);
    featureMaps.setKernels(kernelsOf(card.filters?.after));
  } catch (error) {
    modelParts.summary.replaceChildren();
    const message = document.createElement("p");
    message.className = "error";
    message.textContent = `Could not load the model description: ${error.message}`;
    modelParts.summary.append(message);
    featureMaps.setKernels(null);
  }
}

showEmpty();
updateButtons();
loadModelCard();
document.documentElement.dataset.ready = "true";
