// The page's shared helpers, in one place: building DOM nodes, reading model-card values and
// writing numbers as text (every number formatter of the page lives here).

import { css, readableTextOn } from "./pixels.js";

const SVG = "http://www.w3.org/2000/svg";

/** The page's first element that matches a CSS selector. */
export const $ = (selector) => document.querySelector(selector);

/** An HTML element with a class, text, attributes and children. */
export function element(tag, { className, text, attrs } = {}, children = []) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  for (const [name, value] of Object.entries(attrs ?? {})) node.setAttribute(name, value);
  for (const child of children) node.append(child);
  return node;
}

/** An SVG element with attributes and optional text. */
export function svgElement(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Fill a table with rows of numbers, each cell coloured by `colour(value)` → [r, g, b]. */
export function fillTable(table, rows, colour, digits) {
  table.replaceChildren();
  for (const row of rows) {
    const tr = element("tr");
    for (const value of row) {
      const td = element("td", { text: formatNumber(value, digits) });
      const background = colour(value);
      td.style.backgroundColor = css(background);
      td.style.color = readableTextOn(background);
      tr.append(td);
    }
    table.append(tr);
  }
}

/** The note shown in place of a part the model card does not have. */
export function missing(what) {
  return element("p", { className: "muted", text: `${what} is not in this model card.` });
}

/** A share as a fraction: cards may hold 0.9937 or 99.37. */
export function asFraction(value) {
  const number = Number(value);
  if (!Number.isFinite(number)) return null;
  return number > 1 ? number / 100 : number;
}

/** True when value is a rows × columns matrix of finite numbers. */
export function isMatrix(value, rows, columns) {
  return (
    Array.isArray(value) &&
    value.length === rows &&
    value.every((row) => Array.isArray(row) && row.length === columns && row.every(Number.isFinite))
  );
}

/**
 * The card's filters as [count][size][size] numbers ([count][1][size][size], one input channel,
 * is accepted too); null when there are none or they are not square grids of numbers of one size.
 */
export function kernelsOf(value) {
  if (!Array.isArray(value) || value.length === 0) return null;
  const kernels = value.map((kernel) =>
    Array.isArray(kernel) && kernel.length === 1 && Array.isArray(kernel[0]?.[0]) ? kernel[0] : kernel,
  );
  const size = kernels[0]?.length;
  return size > 0 && kernels.every((kernel) => isMatrix(kernel, size, size)) ? kernels : null;
}

// --- numbers as text ---------------------------------------------------------------------

/** A fraction as a percentage with fixed decimals: 0.9929 → "99.29%". */
export function percent(fraction, digits = 1) {
  return `${(fraction * 100).toFixed(digits)}%`;
}

/** A number for the tables: a true minus sign, fixed decimals, never "−0.00". */
export function formatNumber(value, digits = 2) {
  const text = value.toFixed(digits);
  return Number(text) === 0 ? (0).toFixed(digits) : text.replace("-", "−");
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

// The answer's bars reach down to 10^LOG_FLOOR (0.0001%): a smaller probability reads "<0.0001%".
export const LOG_FLOOR = -6;

/**
 * A probability on the answer card: never "100%" (softmax never gives exactly 1) and never
 * "0%"; small values keep two significant digits, so a runner-up at 0.0042% shows as such.
 */
export function formatProbability(p) {
  if (p >= 0.9995) return ">99.9%";
  if (p >= 0.0995) return percent(p, 1); // 9.95% and up: "10.0%", as its neighbours read
  if (p >= 10 ** LOG_FLOOR) return `${trimZeros((p * 100).toPrecision(2))}%`;
  return `<${(10 ** (LOG_FLOOR + 2)).toFixed(-LOG_FLOOR - 2)}%`;
}

/** "0.0010" → "0.001": toPrecision keeps trailing zeros that read as false precision. */
function trimZeros(text) {
  return text.includes(".") ? text.replace(/\.?0+$/, "") : text;
}

/** A probability with its real size, for softmax worked out: 99.9948%, 0.021%, 3.1 × 10⁻⁶ %
 * (never "100%" for a softmax output below 1: enough decimals to show the gap). */
export function formatPercent(p) {
  const share = p * 100;
  if (p >= 1) return "100%";
  if (share >= 99.9) {
    const decimals = Math.min(6, Math.max(1, Math.ceil(-Math.log10(100 - share)) + 1));
    const text = share.toFixed(decimals);
    return Number(text) >= 100 ? ">99.9999%" : `${text}%`;
  }
  if (share >= 10) return percent(p, 1);
  if (share >= 0.01) return `${share.toPrecision(2)}%`;
  return `${formatSmall(share)} %`;
}

/** A duration as people say it: "45 s", "18 min", "1 h 05 min". */
export function formatDuration(seconds) {
  if (seconds < 90) return `${Math.round(seconds)} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 90) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`;
}
