// The rest of the path after the convolution layer: the 100 hidden units (after ReLU), the 10
// scores before softmax (the logits), and softmax worked out beside them, so the probabilities
// can be seen to come from the scores.

import { element, formatNumber, formatPercent, formatSmall } from "./helpers.js";
import { css, largestAbsolute, SEQUENTIAL, tableColour } from "./pixels.js";

/** Softmax written out: e^(score − top) for each score, their sum, and the probabilities. */
function softmaxSteps(scores) {
  const top = Math.max(...scores);
  const exps = scores.map((score) => Math.exp(score - top));
  const total = exps.reduce((sum, value) => sum + value, 0);
  return { top, exps, total, probabilities: exps.map((value) => value / total) };
}

export class NetworkPath {
  /**
   * @param {{units: HTMLElement, unitsSummary: HTMLElement, unitsMax: HTMLElement,
   *          logits: HTMLTableElement}} parts
   *   unitsMax: the legend's top end, which shows the strongest unit's value
   */
  constructor({ units, unitsSummary, unitsMax, logits }) {
    this.units = units;
    this.unitsMax = unitsMax;
    this.unitsSummary = unitsSummary;
    this.logits = logits;
    this.body = logits.tBodies[0];
    this.total = logits.querySelector(".logits-total");
    this.unitCells = [];
    this.rows = [];
    this._build(100, 10);
  }

  _build(unitCount, classes) {
    for (let unit = 0; unit < unitCount; unit += 1) {
      const cell = element("span", { className: "unit", attrs: { "data-unit": String(unit) } });
      this.units.append(cell);
      this.unitCells.push(cell);
    }
    for (let digit = 0; digit < classes; digit += 1) {
      const row = element("tr", { attrs: { "data-digit": String(digit) } });
      const head = element("th", { text: String(digit), attrs: { scope: "row" } });
      // The bar has a cell of its own beside the number (a picture of it: hidden from screen readers).
      const scoreBar = element("span", { className: "logit-bar" });
      const barCell = element("td", { className: "logit-bar-cell", attrs: { "aria-hidden": "true" } }, [scoreBar]);
      const scoreText = element("td", { className: "logit-value", text: "–" });
      const exp = element("td", { className: "logit-exp", text: "–" });
      const probability = element("td", { className: "logit-probability", text: "–" });
      row.append(head, barCell, scoreText, exp, probability);
      this.body.append(row);
      this.rows.push({ row, scoreBar, scoreText, exp, probability });
    }
  }

  /**
   * @param {{hidden: {values: number[]}, logits: {values: number[]}}} layers from the API
   * @param {number} digit the answer
   */
  show(layers, digit) {
    const hidden = layers.hidden.values;
    const largest = Math.max(0, ...hidden);
    for (const [unit, cell] of this.unitCells.entries()) {
      const value = hidden[unit] ?? 0;
      const level = largest > 0 ? Math.round((value / largest) * 255) : 0;
      cell.style.backgroundColor = css(tableColour(SEQUENTIAL, level));
      cell.dataset.value = String(value);
      cell.title = `Unit ${unit + 1}: ${value.toFixed(3)}`;
    }
    this.unitsMax.textContent = largest.toFixed(2);
    const active = hidden.filter((value) => value > 0).length;
    const strongest = hidden.indexOf(largest);
    this.unitsSummary.textContent =
      active === 0
        ? "None is active for this drawing."
        : `${active} of ${hidden.length} are active (not 0) for this drawing; ` +
          `the strongest, unit ${strongest + 1}, is ${largest.toFixed(2)}.`;
    this.units.setAttribute(
      "aria-label",
      `The ${hidden.length} hidden units after ReLU: ${active} active, the strongest ${largest.toFixed(2)}`,
    );

    const scores = layers.logits.values;
    const { exps, total, probabilities } = softmaxSteps(scores);
    const reach = Math.max(1e-9, largestAbsolute(scores));
    for (const [d, parts] of this.rows.entries()) {
      const score = scores[d];
      // The bar grows from the middle: right for positive scores, left for negative ones.
      const share = (Math.abs(score) / reach) * 50;
      parts.scoreBar.style.width = `${share}%`;
      parts.scoreBar.style.left = score >= 0 ? "50%" : `${50 - share}%`;
      parts.scoreBar.classList.toggle("negative", score < 0);
      parts.scoreText.textContent = formatNumber(score, 2);
      parts.exp.textContent = formatSmall(exps[d], 3);
      parts.probability.textContent = formatPercent(probabilities[d]);
      parts.row.dataset.score = String(score);
      parts.row.dataset.probability = String(probabilities[d]);
      parts.row.classList.toggle("top", d === digit);
    }
    this.total.textContent = formatSmall(total, 3);
    this.logits.dataset.state = "shown";
  }

  clear() {
    if (this.logits.dataset.state === "empty") return;
    for (const cell of this.unitCells) {
      cell.style.backgroundColor = "";
      delete cell.dataset.value;
      cell.removeAttribute("title");
    }
    this.unitsSummary.textContent = "";
    this.unitsMax.textContent = "max";
    for (const parts of this.rows) {
      parts.scoreBar.style.width = "0";
      parts.scoreText.textContent = "–";
      parts.exp.textContent = "–";
      parts.probability.textContent = "–";
      parts.row.classList.remove("top");
      delete parts.row.dataset.score;
      delete parts.row.dataset.probability;
    }
    this.total.textContent = "";
    this.logits.dataset.state = "empty";
  }
}
