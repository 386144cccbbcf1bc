// Small DOM helpers shared by the model panel's modules (model-card.js and its parts).

const SVG = "http://www.w3.org/2000/svg";

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

/** The note shown in place of a part the model card does not have. */
export function missing(what) {
  return element("p", { className: "muted", text: `${what} is not in this model card.` });
}

export function percent(fraction, digits = 1) {
  return `${(fraction * 100).toFixed(digits)}%`;
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
