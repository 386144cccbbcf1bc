// The rest of the path after the convolution layer: the 100 hidden units (after ReLU), the 10
// scores before softmax (the logits), and softmax worked out beside them, so the probabilities
// can be seen to come from the scores.

import { css, SEQUENTIAL } from "./pixels.js";

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Softmax written out: e^(score − top) for each score, their sum, and the probabilities. */
export function softmaxSteps(scores) {
  const top = Math.max(...scores);
  const exps = scores.map((score) => Math.exp(score - top));
  const total = exps.reduce((sum, value) => sum + value, 0);
  return { top, exps, total, probabilities: exps.map((value) => value / total) };
}

/** A positive number readably: 0.53, 0.0021, 3.1 × 10⁻⁸ (never rounded to a bare 0). */
export function formatSmall(value, digits = 2) {
  if (value === 0) return "0";
  if (value >= 0.001) return value >= 1 ? value.toFixed(digits) : value.toPrecision(digits);
  const exponent = Math.floor(Math.log10(value));
  const mantissa = (value / 10 ** exponent).toFixed(1);
  const superscript = String(exponent).replace("-", "⁻").replace(/\d/g, (d) => "⁰¹²³⁴⁵⁶⁷⁸⁹"[d]);
  return `${mantissa} × 10${superscript}`;
}

/** A probability as a percentage with its real size: 99.9948%, 0.021%, 3.1 × 10⁻⁶ % (never "100%"
 * for a softmax output below 1: enough decimals to show the gap). */
export function formatPercent(p) {
  const percent = p * 100;
  if (p >= 1) return "100%";
  if (percent >= 99.9) {
    const decimals = Math.min(6, Math.max(1, Math.ceil(-Math.log10(100 - percent)) + 1));
    const text = percent.toFixed(decimals);
    return Number(text) >= 100 ? ">99.9999%" : `${text}%`;
  }
  if (percent >= 10) return `${percent.toFixed(1)}%`;
  if (percent >= 0.01) return `${percent.toPrecision(2)}%`;
  return `${formatSmall(percent)} %`;
}

const signed = (value) => value.toFixed(2).replace("-", "−");

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
      const cell = element("span", "unit");
      cell.dataset.unit = String(unit);
      this.units.append(cell);
      this.unitCells.push(cell);
    }
    for (let digit = 0; digit < classes; digit += 1) {
      const row = element("tr");
      row.dataset.digit = String(digit);
      const head = element("th", "", String(digit));
      head.scope = "row";
      // The bar has a cell of its own beside the number (a picture of it: hidden from screen readers).
      const barCell = element("td", "logit-bar-cell");
      barCell.setAttribute("aria-hidden", "true");
      const scoreBar = element("span", "logit-bar");
      barCell.append(scoreBar);
      const scoreText = element("td", "logit-value", "–");
      const exp = element("td", "logit-exp", "–");
      const probability = element("td", "logit-probability", "–");
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
      const level = largest > 0 ? Math.round((value / largest) * 255) * 3 : 0;
      cell.style.backgroundColor = css([SEQUENTIAL[level], SEQUENTIAL[level + 1], SEQUENTIAL[level + 2]]);
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
    const reach = Math.max(1e-9, ...scores.map(Math.abs));
    for (const [d, parts] of this.rows.entries()) {
      const score = scores[d];
      // The bar grows from the middle: right for positive scores, left for negative ones.
      const share = (Math.abs(score) / reach) * 50;
      parts.scoreBar.style.width = `${share}%`;
      parts.scoreBar.style.left = score >= 0 ? "50%" : `${50 - share}%`;
      parts.scoreBar.classList.toggle("negative", score < 0);
      parts.scoreText.textContent = signed(score);
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
