// The model panel, drawn from GET /api/model (the model card). Every part is optional: a card
// that lacks a field gets a short "not in this model card" note instead of that part.
//
// The parts live in their own modules: model-architecture.js, training-curves.js,
// confusion-matrix.js (with misread-gallery.js) and model-filters.js.

import { renderArchitecture } from "./model-architecture.js";
import { renderConfusion } from "./confusion-matrix.js";
import { asFraction, element, formatDuration, missing, percent } from "./helpers.js";
import { renderFilters } from "./model-filters.js";
import { historyOf, renderCurves } from "./training-curves.js";

/**
 * The training's duration in seconds: the card's training.seconds (the whole run as train.py
 * timed it), else the sum of the epochs' seconds, else null.
 */
function trainingSeconds(card) {
  const total = Number(card.training?.seconds);
  if (Number.isFinite(total) && total > 0) return total;
  const perEpoch = historyOf(card)?.seconds ?? [];
  const sum = perEpoch.reduce((a, b) => a + b, 0);
  return sum > 0 ? sum : null;
}

function renderSummary(container, card) {
  const facts = [];
  const accuracy = asFraction(card.test_accuracy);
  if (accuracy !== null) facts.push(["Test accuracy", percent(accuracy, 2)]);
  if (Number.isFinite(Number(card.parameter_count))) {
    facts.push(["Weights", Number(card.parameter_count).toLocaleString("en")]);
  }
  const trainingImages = Number(card.training?.training_images);
  if (trainingImages > 0) facts.push(["Training digits", trainingImages.toLocaleString("en")]);
  const history = historyOf(card);
  if (history) facts.push(["Training epochs", String(history.epochs.length)]);
  const seconds = trainingSeconds(card);
  if (seconds) facts.push(["Training time", formatDuration(seconds), "training-time"]);
  if (facts.length === 0) {
    container.append(missing(card.name ? `Accuracy of “${card.name}”` : "The test accuracy"));
    return;
  }
  const list = element("dl", { className: "facts" });
  for (const [term, value, testId] of facts) {
    const definition = element("dd", { text: value, attrs: testId ? { "data-testid": testId } : {} });
    list.append(element("div", {}, [element("dt", { text: term }), definition]));
  }
  container.append(list);
  const notes = [];
  if (accuracy !== null) {
    const tests = Number(card.test_images) > 0 ? `${Number(card.test_images).toLocaleString("en")} ` : "";
    notes.push(`Accuracy measured on the ${tests}MNIST test digits, which the network never saw while training.`);
  }
  const exposure = card.training?.outlier_exposure;
  if (exposure && Number(exposure.per_batch) > 0) {
    // Outlier exposure (model/outlier_exposure.py): why the network can answer "Not a digit?".
    const kinds = Array.isArray(exposure.kinds) ? ` (${exposure.kinds.join(", ")})` : "";
    notes.push(
      `Each batch of digits also held ${exposure.per_batch} images that are no digit${kinds}, trained toward ` +
        "giving every digit the same probability — so the network can tell it does not know.",
    );
  }
  for (const note of notes) container.append(element("p", { className: "muted", text: note }));
}

/**
 * Fill the model panel's parts from a model card (any of its fields may be missing).
 * @param {{summary, architecture, curves, confusion, filters}} parts - the containers
 * @param {object} card - the model card, as GET /api/model answers
 * @param {{loadMisread?: () => Promise<object>}} options - where the misread digits come from
 *   (GET /api/model/misread unless given)
 */
export function renderModelCard(parts, card, options = {}) {
  for (const part of Object.values(parts)) part.replaceChildren();
  renderSummary(parts.summary, card);
  renderArchitecture(parts.architecture, card);
  renderCurves(parts.curves, card);
  renderConfusion(parts.confusion, card, options);
  renderFilters(parts.filters, card);
}
