// Wires the page together: the drawing pad, the prediction client and the views.

import { AnswerCard } from "./answer.js";
import { BackwardPass } from "./backward-pass.js";
import { PredictionClient } from "./client.js";
import { ConvLab } from "./conv-lab.js";
import { FileDrop } from "./file-drop.js";
import { $, element, kernelsOf } from "./helpers.js";
import { insideQuery, resetInside, setModelCard, showInside } from "./inside.js";
import { renderModelCard } from "./model-card.js";
import { NUMBER_ADVICE, NumberMode, PAD_SIZES } from "./number-mode.js";
import { drawInput } from "./pixels.js";
import { SketchPad } from "./sketchpad.js";
import { TrainingReplay } from "./training-replay.js";

const canvas = $('[data-testid="draw-canvas"]');
const pad = new SketchPad(canvas, { lineWidth: Number($("#brush").value) });
const answer = $("#answer");
const card = new AnswerCard({
  card: answer,
  verdict: $('[data-testid="verdict"]'),
  digit: $('[data-testid="prediction"]'),
  headline: $("#verdict-headline"),
  alternative: $("#verdict-alternative"),
  confidence: $("#confidence"),
  note: $("#verdict-note"),
  emptyHint: $("#empty-hint"),
  error: $("#error"),
  announcer: $("#announcer"),
  badge: $("#pad-badge"),
  bars: [...document.querySelectorAll('[data-testid="probabilities"] > li')],
});
const networkInput = $('[data-testid="network-input"]');
const inputFrame = $(".input-frame");
const inputSource = $("#input-source");
const uploadInput = $('[data-testid="upload"]');
const dropZone = $("#drop-zone");
const uploadPreview = $("#upload-preview");
const undoButton = $('[data-testid="undo"]');
const redoButton = $("#redo");
const clearButton = $('[data-testid="clear"]');
const lab = new ConvLab($('[data-testid="conv-lab"]'));
const replay = new TrainingReplay($('[data-testid="replay"]'));
const numberMode = new NumberMode(
  {
    root: $("#main"),
    choice: $('[data-testid="mode"]'),
    canvas,
    preview: $("#upload-preview"),
    number: $('[data-testid="number"]'),
    layer: $("#digit-boxes"),
  },
  {
    onModeChange: changeMode,
    onChoose: (digit, { tag, final }) => showDigit(digit, tag, final),
    announce: (text) => card.announce(text),
  },
);

let cardKernels = null; // the served network's filters, from the model card
let uploadCount = 0;
let previewUrl = null;
let uploadedFile = null; // the file on screen, re-read when the inside views need more
let strokeActive = false; // the pointer is down: answers are provisional

// --- showing answers ---------------------------------------------------------------------

// A dot, or a stroke much shorter than the brush is wide, is a blot and not a digit yet: the
// server would answer "no digit found" (it does for lengths below about a quarter of the brush).
function tooSmallToRead() {
  const { span, brush } = pad.extent();
  return span < Math.max(4, 0.4 * brush);
}

function showResult(result, tag) {
  // A live answer that lands after the pointer went up answers a drawing that is already gone:
  // the stroke's own (final) request is on its way.
  if (!tag.final && !strokeActive) return;
  // Final only when it answers the newest request and no stroke has begun since.
  const final = tag.final && !strokeActive && String(tag.version) === answer.dataset.requestedVersion;
  // A number: its boxes and the number on screen, and its chosen digit explained (showDigit).
  if (result.digits) numberMode.show(result, { tag, final });
  else showDigit(result, tag, final);
}

/** One digit's answer (a lone digit's, or the digit chosen in a number) through every view. */
function showDigit(result, tag, final) {
  card.show(result, { final });
  drawInput(networkInput, result.input);
  inputFrame.classList.remove("empty");
  inputSource.textContent = numberMode.active
    ? numberMode.describeSource(tag.source)
    : tag.source === "upload" ? "Your image" : "Your drawing";
  showInside(result);
  lab.setDrawing(result.input);
  if (result.filters) backward.setFilters(kernelsOf(result.filters.weights)); // a training snapshot's
  else if (replay.filtersShown) backward.setFilters(cardKernels);
  replay.showResult(result);
  if (final) backward.showAnswer(result);
  answer.dataset.renderedVersion = String(tag.version);
}

/** No digit on screen: the blank canvas's answer (versions in step, nothing to wait for). */
function showEmpty(hint) {
  resetViews();
  card.clear(hint);
  answer.dataset.requestedVersion = String(pad.version);
  answer.dataset.renderedVersion = String(pad.version);
  numberMode.expect(pad.version);
  numberMode.clear(hint);
}

function resetViews() {
  const context = networkInput.getContext("2d");
  context.clearRect(0, 0, networkInput.width, networkInput.height);
  inputFrame.classList.add("empty");
  inputSource.textContent = "Your drawing";
  resetInside();
  lab.setDrawing(null);
  backward.clear();
  replay.clearResult();
}

const ADVICE = {
  no_digit_found: "Draw a bit larger, or upload an image with a clear digit.",
  invalid_image: "Try a PNG, JPEG, WebP or GIF image.",
  unsupported_media_type: "Try a PNG, JPEG, WebP or GIF image.",
  image_too_large: "Try a smaller image.",
  payload_too_large: "Try a smaller image file.",
};

function showError(error, tag) {
  // A live request's failure (often "no digit found" for the first millimetres of a stroke) is
  // not worth an alert: the stroke's own final request answers, or fails, soon enough.
  if (tag && !tag.final) return;
  resetViews();
  const advice = (numberMode.active && NUMBER_ADVICE[error.code]) || ADVICE[error.code];
  const message = `${error.message}${advice ? ` ${advice}` : ""}`;
  card.showError(message);
  if (tag) answer.dataset.renderedVersion = String(tag.version);
  if (numberMode.active) numberMode.showError(message, tag?.version);
}

// --- requests ----------------------------------------------------------------------------

const client = new PredictionClient({ onResult: showResult, onError: showError });

/** The image on screen as a /predict body, for the backward pass's own requests; null for none.
 * In number mode, the chosen digit itself: its 28×28 input as a pixel array (/predict/number
 * leaves the backward pass to /predict, one digit at a time). */
function currentImage() {
  if (numberMode.active) {
    const digit = numberMode.chosenDigit;
    if (!digit) return null;
    return { body: JSON.stringify({ pixels: digit.input }), headers: { "Content-Type": "application/json" } };
  }
  if (uploadedFile) {
    const form = new FormData();
    form.append("image", uploadedFile, uploadedFile.name);
    return { body: form };
  }
  if (pad.isEmpty()) return null;
  return { body: JSON.stringify({ image: pad.toDataURL() }), headers: { "Content-Type": "application/json" } };
}

const backward = new BackwardPass($('[data-testid="backward"]'), {
  source: currentImage,
  snapshot: () => replay.snapshotQuery(),
});

/** The URL of a prediction with what the views on screen need, by the moment of training chosen. */
function predictUrl() {
  // Only what the open parts inside the network show; the replay's snapshot (none: the served network).
  const query = [insideQuery(), replay.query()].filter(Boolean).join("&");
  const path = numberMode.active ? "/predict/number" : "/predict";
  return query ? `${path}?${query}` : path;
}

/** A request for the picture of `version` is on its way: the answer (and the number) wait for it. */
function expectAnswer(version) {
  answer.dataset.requestedVersion = String(version);
  numberMode.expect(version);
}

/** The drawing as JSON {"image": PNG data URL} — encoded synchronously, sent at once. */
function drawingJob(final) {
  return () => ({
    tag: { version: pad.version, final, source: "drawing" },
    url: predictUrl(),
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
      showEmpty("That is a dot so far — keep drawing to make a digit.");
    }
    return;
  }
  // The answer's (and in number mode the number's) data-requested-version / data-rendered-version
  // tell tests (and bench/page.py) when the answer on screen belongs to the newest drawing.
  expectAnswer(pad.version);
  client.submit(drawingJob(final), { urgent: final });
}

function predictFile(file) {
  if (!file) return;
  if (file !== uploadedFile) numberMode.clear(); // a new picture: its first digit is explained first
  pad.clear(); // the upload replaces the drawing (undo brings the drawing back)
  hidePreview();
  uploadedFile = file;
  previewUrl = URL.createObjectURL(file);
  uploadPreview.src = previewUrl;
  uploadPreview.alt = `Uploaded image: ${file.name}`;
  uploadPreview.hidden = false;
  uploadCount += 1;
  const tag = { version: `upload-${uploadCount}`, final: true, source: "upload" };
  expectAnswer(tag.version);
  client.submit(
    () => {
      const form = new FormData();
      form.append("image", file, file.name);
      return { tag, url: predictUrl(), body: Promise.resolve(form) };
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
  uploadedFile = null;
}

/** The inside views want more (or less): read what is on screen again. */
function rereadCurrent() {
  if (uploadedFile) predictFile(uploadedFile);
  else if (!pad.isEmpty() && !strokeActive) predictDrawing({ final: true });
}

/** Another moment of training was chosen: read what is on screen with it. While the slider is
 * dragged the client keeps one request in flight and only the newest waiting one, so the newest wins. */
function rereadForReplay() {
  if (uploadedFile) {
    replay.expectAnswer();
    predictFile(uploadedFile);
  } else if (!pad.isEmpty() && !strokeActive && !tooSmallToRead()) {
    replay.expectAnswer();
    expectAnswer(pad.version);
    client.submit(drawingJob(true), { urgent: false });
  }
}

replay.addEventListener("snapshot-change", rereadForReplay);

// --- controls ----------------------------------------------------------------------------

function updateButtons() {
  undoButton.disabled = !pad.canUndo();
  redoButton.disabled = !pad.canRedo();
  clearButton.disabled = pad.isEmpty() && uploadPreview.hidden;
  dropZone.classList.toggle("empty", pad.isEmpty() && uploadPreview.hidden);
}

pad.addEventListener("strokestart", () => {
  strokeActive = true;
  hidePreview();
  if (answer.dataset.state === "answer") card.setFinal(false); // the answer on screen is now out of date
  predictDrawing({ final: false });
  updateButtons();
});
pad.addEventListener("strokemove", () => predictDrawing({ final: false }));
pad.addEventListener("strokeend", () => {
  strokeActive = false;
  predictDrawing({ final: true });
  updateButtons();
});
pad.addEventListener("change", () => {
  hidePreview();
  predictDrawing({ final: true });
  updateButtons();
});
pad.on();
numberMode.on();

/** One digit or a number: a blank pad of that mode's shape, and no upload (the new mode starts a
 * new picture; see docs/numbers.md). */
function changeMode(mode) {
  client.cancel();
  hidePreview();
  uploadInput.value = "";
  const { width, height } = PAD_SIZES[mode];
  pad.setLogicalSize(width, height); // dispatches "change": the page empties
  updateButtons();
}

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

new FileDrop(dropZone, predictFile).on(); // an image file dropped on the drawing area

// --- the model card ----------------------------------------------------------------------

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
    const modelCard = await response.json();
    if (!response.ok) throw new Error(modelCard?.error?.message ?? `HTTP ${response.status}`);
    renderModelCard(modelParts, modelCard);
    setModelCard(modelCard);
    cardKernels = kernelsOf(modelCard?.filters?.after);
    lab.setFilters(cardKernels);
    backward.setFilters(cardKernels);
    card.setVerdictRule(modelCard.verdict_rule);
    replay.setReplay(modelCard.replay);
  } catch (error) {
    modelParts.summary.replaceChildren(
      element("p", { className: "error", text: `Could not load the model description: ${error.message}` }),
    );
    setModelCard(null);
  }
}

// --- collapsible sections ----------------------------------------------------------------
// <details class="fold" open data-phone="closed"> (see style.css): open on wide screens, closed
// once at load on a phone so the page is not eight screens tall; the person decides after that.

function foldSections() {
  if (!window.matchMedia("(max-width: 699px)").matches) return;
  for (const details of document.querySelectorAll('details.fold[data-phone="closed"]')) details.open = false;
}

document.addEventListener("inside-query-changed", rereadCurrent);

foldSections();
showEmpty();
updateButtons();
loadModelCard();
document.documentElement.dataset.ready = "true";
