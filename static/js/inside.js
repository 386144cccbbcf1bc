// Inside the network: the views that follow one decision from the pixels to the answer — the
// preprocessing steps, the convolution layer (feature maps and receptive fields), the hidden
// units and scores, and the saliency. Each part is a collapsible <details>; a part that is closed,
// or scrolled out of sight, asks the API for nothing (so drawing at the top of the page costs no
// more than the answer), and coming into sight asks for its data.
//
// main.js uses: insideQuery() (the query parameters the open parts need), showInside(result),
// resetInside(), setModelCard(card); and re-reads the current drawing on the document event
// "inside-query-changed" (a part opened, or another digit chosen to compare with).

import { FeatureMapView } from "./feature-maps.js";
import { $, kernelsOf } from "./helpers.js";
import { NetworkPath } from "./network-path.js";
import { cssGradient, decodeMaps, DIVERGING, SEQUENTIAL } from "./pixels.js";
import { PreprocessSteps } from "./preprocess-steps.js";
import { SaliencyView } from "./saliency.js";

const section = $("#inside");
const parts = Object.fromEntries(
  [...section.querySelectorAll("details.inside-part")].map((details) => [details.dataset.part, details]),
);
// What each part asks the API to include.
const INCLUDES = { steps: "steps", conv: "feature_maps", path: "layers", saliency: "saliency" };

const featureMaps = new FeatureMapView({
  grid: $('[data-testid="feature-maps"]'),
  detail: $('[data-testid="map-zoom"]'),
  legendMax: $("#legend-max"),
  order: $('[data-testid="map-order"]'),
});
const steps = new PreprocessSteps($('[data-testid="preprocess-steps"]'));
const path = new NetworkPath({
  units: $('[data-testid="hidden-units"]'),
  unitsSummary: section.querySelector(".hidden-summary"),
  unitsMax: $("#legend-units-max"),
  logits: $('[data-testid="logits"]'),
});
const saliency = new SaliencyView($('[data-testid="saliency"]'));
// The filters of the model card (the served network's), and whether an answer's own are on screen
// instead (include=filters: the training replay's snapshot that answered).
let cardFilters = { kernels: null, bias: null, architecture: null };
let answerFilters = false;

$("#legend-maps").style.backgroundImage = cssGradient(SEQUENTIAL);
$("#legend-units").style.backgroundImage = cssGradient(SEQUENTIAL);
for (const bar of section.querySelectorAll(".legend-filters")) bar.style.backgroundImage = cssGradient(DIVERGING);

// The parts with at least a pixel on screen (IntersectionObserver).
const inSight = new Set();

/** The query parameters the open parts on screen need, e.g. "include=feature_maps,saliency&versus=1";
 * "" for none. */
export function insideQuery() {
  const include = Object.entries(INCLUDES)
    .filter(([part]) => parts[part]?.open && inSight.has(part))
    .map(([, name]) => name);
  if (include.length === 0) return "";
  const versus = parts.saliency?.open && saliency.versus !== null ? `&versus=${saliency.versus}` : "";
  return `include=${include.join(",")}${versus}`;
}

let lastQuery = insideQuery();

function queryMayHaveChanged() {
  const query = insideQuery();
  if (query === lastQuery) return;
  lastQuery = query;
  document.dispatchEvent(new Event("inside-query-changed"));
}

for (const details of Object.values(parts)) details.addEventListener("toggle", queryMayHaveChanged);
saliency.addEventListener("versus-change", queryMayHaveChanged);
const sight = new IntersectionObserver((entries) => {
  for (const entry of entries) {
    if (entry.isIntersecting) inSight.add(entry.target.dataset.part);
    else inSight.delete(entry.target.dataset.part);
  }
  queryMayHaveChanged();
});
for (const details of Object.values(parts)) sight.observe(details);

/** Mark each part "shown" (its data is on screen), "waiting" (an answer without its data: the part
 * was closed, or has just been opened and its data is on the way) or "empty" (no answer). */
function markParts(present, answered) {
  for (const [name, details] of Object.entries(parts)) {
    const state = present[name] ? "shown" : answered ? "waiting" : "empty";
    // Written only when it changes: each write makes the browser restyle the part.
    if (details.dataset.state !== state) details.dataset.state = state;
  }
}

/** Show what a prediction result holds for the open parts (a part whose data is missing waits). */
export function showInside(result) {
  if (section.dataset.state !== "answer") section.dataset.state = "answer";
  // Maps of an older drawing would mislead: without new ones the grid keeps only the filters.
  if (result.feature_maps) {
    featureMaps.show(
      decodeMaps(result.feature_maps),
      result.pooled_maps ? decodeMaps(result.pooled_maps) : null,
      result.input ?? null,
    );
  } else {
    featureMaps.show(null, null);
  }
  showFilters(result.filters);
  if (result.steps) steps.show(result.steps);
  else steps.clear();
  if (result.layers) path.show(result.layers, result.digit);
  else path.clear();
  if (result.saliency && result.input) saliency.show(result.saliency, result.input);
  else saliency.clear();
  markParts({
    steps: Boolean(result.steps),
    conv: Boolean(result.feature_maps),
    path: Boolean(result.layers),
    saliency: Boolean(result.saliency && result.input),
  }, true);
}

/** No answer (blank canvas, or an error): every part back to its prompt. */
export function resetInside() {
  section.dataset.state = "empty";
  featureMaps.show(null, null);
  steps.clear();
  path.clear();
  saliency.clear();
  markParts({}, false);
}

/** Filters' weights and biases, or null when the bias does not fit them. */
function fittingBias(kernels, bias) {
  return kernels && Array.isArray(bias) && bias.length === kernels.length && bias.every(Number.isFinite) ? bias : null;
}

/** An answer's own filters ({weights, bias}: a training snapshot's), or the card's when it has none. */
function showFilters(filters) {
  const kernels = kernelsOf(filters?.weights);
  if (kernels) {
    featureMaps.setKernels(kernels, fittingBias(kernels, filters.bias), cardFilters.architecture);
    answerFilters = true;
  } else if (answerFilters) {
    featureMaps.setKernels(cardFilters.kernels, cardFilters.bias, cardFilters.architecture);
    answerFilters = false;
  }
}

/** The model card: the filters' weights and biases, and the layer geometry; null when it failed. */
export function setModelCard(card) {
  const kernels = kernelsOf(card?.filters?.after);
  cardFilters = { kernels, bias: fittingBias(kernels, card?.filters?.bias), architecture: card?.architecture ?? null };
  answerFilters = false;
  featureMaps.setKernels(cardFilters.kernels, cardFilters.bias, cardFilters.architecture);
}
