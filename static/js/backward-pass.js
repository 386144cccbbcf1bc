// "How it would learn from this": one backward pass through the network on the drawing on
// screen, with a true digit the learner chooses, and a few steps of gradient descent on a copy of
// the network (the API's include=gradients): the loss, the gradient at the 10 scores, at the 100
// hidden units, at each of the 30 filters (beside the filter) and at the input; then this
// drawing's probabilities after the steps, how far each filter moved and what the steps did to
// the network's accuracy on 1,000 MNIST test digits.
//
// Public API: new BackwardPass(root, {source, snapshot}); setFilters(kernels); showAnswer(result); clear().
// `source()` gives the image on screen as {body, headers?} for POST /predict, or null; `snapshot()`
// the training replay's query ("snapshot=K", or "" for the served network). The part
// asks for nothing while it is closed or out of sight; the newest request wins (PredictionClient).

import { PredictionClient } from "./client.js";
import { element, formatPercent, formatSmall, percent } from "./helpers.js";
import { drawFilter, drawSaliency, largestAbsolute, saliencyGradient } from "./pixels.js";

const FILTERS = 30;
const HIDDEN_UNITS = 100;

/** A signed number readably: −0.53, 0.0021, −3.1 × 10⁻⁸, 0. */
const signed = (value) => `${value < 0 ? "−" : ""}${formatSmall(Math.abs(value), 2)}`;

/** A grid of zeros, rows × columns: the "input" under a filter's gradient (nothing to dim). */
const zeros = (rows, columns) => Array.from({ length: rows }, () => new Array(columns).fill(0));

export class BackwardPass {
  /**
   * @param {HTMLElement} root the [data-testid=backward] element, inside its <details> part
   * @param {{source: () => ({body: any, headers?: object} | null), snapshot?: () => string}} options
   */
  constructor(root, { source, snapshot = () => "" }) {
    this.root = root;
    this.details = root.closest("details");
    this.source = source;
    this.snapshot = snapshot; // the network of the replay's chosen moment learns, not always the served one
    this.label = root.querySelector('[data-testid="backward-label"]');
    this.rate = root.querySelector('[data-testid="backward-rate"]');
    this.steps = root.querySelector('[data-testid="backward-steps"]');
    this.stepsValue = root.querySelector("#backward-steps-value");
    this.run = root.querySelector('[data-testid="backward-run"]');
    this.status = root.querySelector(".backward-status");
    this.loss = root.querySelector('[data-testid="backward-loss"]');
    this.scoreList = root.querySelector('[data-testid="score-gradients"]');
    this.hidden = root.querySelector('[data-testid="hidden-gradients"]');
    this.hiddenSummary = root.querySelector(".hidden-gradient-summary");
    this.inputCanvas = root.querySelector('[data-testid="input-gradient"]');
    this.filterList = root.querySelector('[data-testid="filter-gradients"]');
    this.afterTitle = root.querySelector(".backward-after-title");
    this.accuracy = root.querySelector('[data-testid="sample-accuracy"]');
    this.afterRows = root.querySelector('[data-testid="after-probabilities"] tbody');
    root.querySelector(".gradient-legend-bar").style.backgroundImage = saliencyGradient();

    this.kernels = null; // the 30 trained filters, from the model card
    this.answer = null; // the newest answer on screen
    this.followAnswer = true; // the label follows the answer until the learner picks one
    this.inSight = false;
    this.shownFor = null; // the answer the lesson on screen belongs to

    this.client = new PredictionClient({
      onResult: (result, tag) => this._show(result, tag),
      onError: (error) => this._fail(error),
    });
    this._build();

    this._onLabel = () => {
      this.followAnswer = false;
      this.request();
    };
    this._onSteps = () => this._describeRun();
    this._onRun = () => this.request();
    this._onToggle = () => this._requestIfWanted();
    this.label.addEventListener("change", this._onLabel);
    this.steps.addEventListener("input", this._onSteps);
    this.rate.addEventListener("change", this._onSteps);
    this.run.addEventListener("click", this._onRun);
    this.details?.addEventListener("toggle", this._onToggle);
    this.sight = new IntersectionObserver((entries) => {
      this.inSight = entries.some((entry) => entry.isIntersecting);
      this._requestIfWanted();
    });
    if (this.details) this.sight.observe(this.details);
    this._describeRun();
    this.clear();
  }

  /** Remove the listeners this widget added (the page never needs to, tests may). */
  destroy() {
    this.label.removeEventListener("change", this._onLabel);
    this.steps.removeEventListener("input", this._onSteps);
    this.rate.removeEventListener("change", this._onSteps);
    this.run.removeEventListener("click", this._onRun);
    this.details?.removeEventListener("toggle", this._onToggle);
    this.sight.disconnect();
    this.client.cancel();
  }

  _build() {
    this.scoreRows = Array.from({ length: 10 }, (_, digit) => {
      const bar = element("span", { className: "score-gradient-bar" });
      const value = element("span", { className: "score-gradient-value", text: "–" });
      const row = element("li", { attrs: { "data-digit": String(digit) } }, [
        element("span", { className: "score-gradient-digit", text: String(digit) }),
        element("span", { className: "score-gradient-track", attrs: { "aria-hidden": "true" } }, [bar]),
        value,
      ]);
      this.scoreList.append(row);
      return { row, bar, value };
    });
    this.hiddenCells = Array.from({ length: HIDDEN_UNITS }, (_, unit) => {
      const cell = element("span", { className: "gradient-cell", attrs: { "data-unit": String(unit) } });
      this.hidden.append(cell);
      return cell;
    });
    this.filterItems = Array.from({ length: FILTERS }, (_, index) => {
      const weights = element("canvas", { className: "pixelated fg-weights", attrs: { width: "5", height: "5" } });
      const gradient = element("canvas", { className: "pixelated fg-gradient", attrs: { width: "5", height: "5" } });
      const moved = element("span", { className: "fg-moved-bar" });
      const pair = element("div", { className: "fg-pair", attrs: { role: "img" } }, [weights, gradient]);
      const item = element("li", { attrs: { "data-filter": String(index) } }, [
        pair,
        element("span", { className: "fg-moved", attrs: { "aria-hidden": "true" } }, [moved]),
        element("span", { className: "fg-number", text: String(index + 1), attrs: { "aria-hidden": "true" } }),
      ]);
      this.filterList.append(item);
      return { item, pair, weights, gradient, moved };
    });
  }

  /** The model card's trained filters ([30][5][5]), drawn beside their gradients; null: none.
   * Each on ± its own largest weight, as the model card draws them, so every pattern reads. */
  setFilters(kernels) {
    this.kernels = kernels && kernels.length === FILTERS ? kernels : null;
    if (!this.kernels) return;
    for (const [index, { weights }] of this.filterItems.entries()) {
      drawFilter(weights, this.kernels[index], largestAbsolute(this.kernels[index]));
    }
  }

  /** A final answer on screen: the label follows it (unless chosen) and, if open, the lesson is asked for. */
  showAnswer(result) {
    this.answer = result;
    if (this.followAnswer) this.label.value = String(result.digit);
    this.root.dataset.answer = String(result.digit);
    if (this.root.dataset.state === "shown") this.root.dataset.state = "waiting";
    this._requestIfWanted();
  }

  /** No answer (blank canvas, or an error): back to the prompt; the label follows answers again. */
  clear() {
    this.client.cancel();
    this.answer = null;
    this.shownFor = null;
    this.followAnswer = true;
    this.root.dataset.state = "empty";
    delete this.root.dataset.answer;
    this.status.textContent = "";
    this.run.disabled = true;
  }

  get open() {
    return Boolean(this.details?.open) && this.inSight;
  }

  _requestIfWanted() {
    this.run.disabled = !this.answer;
    if (this.answer && this.open && this.shownFor !== this.answer) this.request();
  }

  _describeRun() {
    const steps = Number(this.steps.value);
    this.stepsValue.textContent = String(steps);
    this.run.textContent = `Run ${steps} step${steps === 1 ? "" : "s"} at rate ${this.rate.value}`;
  }

  /** Ask for the lesson of the image on screen with the chosen label, rate and steps. */
  request() {
    const image = this.answer ? this.source() : null;
    if (!image) return;
    const answer = this.answer;
    const query = new URLSearchParams({
      include: "gradients",
      label: this.label.value,
      learning_rate: this.rate.value,
      steps: this.steps.value,
    });
    this.root.dataset.state = this.root.dataset.state === "empty" ? "loading" : "waiting";
    this.status.textContent = "Running the backward pass…";
    const snapshot = this.snapshot();
    const url = `/predict?${query}${snapshot ? `&${snapshot}` : ""}`;
    this.client.submit(() => ({ tag: { answer }, url, ...image }), { urgent: true });
  }

  _fail(error) {
    this.status.textContent = `Could not run the backward pass: ${error.message}`;
    this.root.dataset.state = "error";
  }

  _show(result, { answer }) {
    if (answer !== this.answer || !result.gradients) return; // a lesson for a drawing no longer on screen
    const lesson = result.gradients;
    this.shownFor = answer;
    const label = lesson.label;
    // p − one-hot at the scores gives back each probability before the steps.
    const before = lesson.scores.map((value, digit) => value + (digit === label ? 1 : 0));
    this.loss.textContent =
      `Loss for the true digit ${label} = −log p(${label}) = ${formatSmall(lesson.loss, 3)}: ` +
      `the network gave ${label} a probability of ${formatPercent(before[label])}`;
    this.loss.dataset.loss = String(lesson.loss);
    this._showScores(lesson.scores, label);
    this._showHidden(lesson.hidden);
    drawSaliency(this.inputCanvas, result.input, lesson.input, largestAbsolute(lesson.input));
    this._showFilters(lesson.filters, lesson.after.filter_change);
    this._showAfter(lesson, before);
    this.root.dataset.label = String(label);
    this.root.dataset.state = "shown";
    this.status.textContent = `Backward pass for the true digit ${label} shown.`;
  }

  _showScores(scores, label) {
    for (const [digit, { row, bar, value }] of this.scoreRows.entries()) {
      const gradient = scores[digit];
      // Half the track is ±1, the largest a score's gradient can be.
      bar.style.width = `${Math.min(50, Math.abs(gradient) * 50)}%`;
      bar.classList.toggle("negative", gradient < 0);
      value.textContent = signed(gradient);
      row.classList.toggle("true-digit", digit === label);
    }
  }

  _showHidden(hidden) {
    const largest = largestAbsolute(hidden);
    for (const [unit, cell] of this.hiddenCells.entries()) {
      const value = hidden[unit] ?? 0;
      cell.classList.toggle("negative", value < 0);
      cell.style.setProperty("--strength", `${largest > 0 ? Math.round((Math.abs(value) / largest) * 100) : 0}%`);
      cell.title = `Unit ${unit + 1}: ${value.toPrecision(3)}`;
    }
    this.hiddenSummary.textContent = `Strongest: ${largest.toPrecision(2)}.`;
  }

  _showFilters(gradients, change) {
    const largestChange = Math.max(...change);
    for (const [index, { pair, gradient, moved }] of this.filterItems.entries()) {
      const values = gradients[index];
      const absMax = largestAbsolute(values);
      drawSaliency(gradient, zeros(values.length, values.length), values, absMax);
      moved.style.width = `${largestChange > 0 ? (change[index] / largestChange) * 100 : 0}%`;
      pair.setAttribute(
        "aria-label",
        `Filter ${index + 1} and its gradient (largest ${absMax.toPrecision(2)}); it moved ${change[index].toPrecision(2)}`,
      );
    }
  }

  _showAfter(lesson, before) {
    const { probabilities, sample_accuracy: accuracy } = lesson.after;
    const steps = `${lesson.steps} step${lesson.steps === 1 ? "" : "s"}`;
    this.afterTitle.textContent = `After ${steps} at learning rate ${lesson.learning_rate} towards ${lesson.label}`;
    this.accuracy.textContent =
      `${accuracy.digits.toLocaleString("en")} MNIST test digits read right: ` +
      `${percent(accuracy.before, 1)} → ${percent(accuracy.after, 1)}`;
    this.accuracy.dataset.before = String(accuracy.before);
    this.accuracy.dataset.after = String(accuracy.after);
    this.afterRows.replaceChildren(
      ...probabilities.map((after, digit) =>
        element("tr", { className: digit === lesson.label ? "true-digit" : "" }, [
          element("th", { text: String(digit), attrs: { scope: "row" } }),
          element("td", { text: formatPercent(before[digit]) }),
          element("td", { text: formatPercent(after) }),
        ]),
      ),
    );
  }
}
