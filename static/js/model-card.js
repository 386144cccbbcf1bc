// The model panel, drawn from GET /api/model (the model card). Every part is optional: a card
// that lacks a field gets a short "not in this model card" note instead of that part.

import { css, drawFilter, largestMagnitude, readableTextOn } from "./pixels.js";

const SVG = "http://www.w3.org/2000/svg";

function element(tag, { className, text, attrs } = {}, children = []) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  for (const [name, value] of Object.entries(attrs ?? {})) node.setAttribute(name, value);
  for (const child of children) node.append(child);
  return node;
}

function svgElement(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

function missing(what) {
  return element("p", { className: "muted", text: `${what} is not in this model card.` });
}

export function percent(fraction, digits = 1) {
  return `${(fraction * 100).toFixed(digits)}%`;
}

function asFraction(value) {
  const number = Number(value);
  if (!Number.isFinite(number)) return null;
  return number > 1 ? number / 100 : number;
}

function isMatrix(value, rows, columns) {
  return (
    Array.isArray(value) &&
    value.length === rows &&
    value.every((row) => Array.isArray(row) && row.length === columns && row.every(Number.isFinite))
  );
}

/** A list of kernels (each a square matrix of numbers), or null. */
export function kernelsOf(value) {
  if (!Array.isArray(value) || value.length === 0) return null;
  const kernels = value.map((kernel) => {
    // Accept [size][size] or [1][size][size] (one input channel).
    const square = Array.isArray(kernel) && kernel.length === 1 && Array.isArray(kernel[0]?.[0]) ? kernel[0] : kernel;
    return isMatrix(square, square?.length, square?.length) ? square : null;
  });
  return kernels.every(Boolean) ? kernels : null;
}

/** Layers of the architecture as [{name, type, shape, weights, note}], or null. */
function architectureLayers(card) {
  const source = card.architecture?.layers ?? card.architecture ?? card.layers;
  if (!Array.isArray(source) || source.length === 0) return null;
  const layers = [];
  const rawInput = card.input?.shape ?? card.architecture?.input_shape;
  const inputShape = Array.isArray(rawInput) ? rawInput.map(Number) : null;
  if (inputShape) layers.push({ name: "input", type: "Input", shape: inputShape, weights: null });
  let previous = inputShape;
  for (const [index, layer] of source.entries()) {
    const raw = layer.output_shape ?? layer.shape ?? null;
    const shape = Array.isArray(raw) ? raw.map(Number) : outputShape(layer, previous);
    layers.push({
      name: String(layer.name ?? `layer ${index + 1}`),
      type: String(layer.type ?? ""),
      shape,
      weights: weightCount(layer, previous),
    });
    previous = shape;
  }
  return layers;
}

/** A layer's output shape worked out from its settings (for a card that only has the spec). */
function outputShape(layer, inputShape) {
  if (!inputShape) return null;
  const [channels, height, width] = inputShape;
  const side = (length) => Math.floor((length + 2 * (layer.pad ?? 0) - layer.size) / (layer.stride ?? 1)) + 1;
  switch (layer.type) {
    case "Convolution":
      return inputShape.length === 3 ? [layer.filters, side(height), side(width)] : null;
    case "MaxPooling":
    case "AveragePooling":
      return inputShape.length === 3 ? [channels, side(height), side(width)] : null;
    case "Affine":
      return [layer.units];
    default:
      return inputShape;
  }
}

/** Weights and biases of a layer, from its settings and the shape it receives (null if none). */
function weightCount(layer, inputShape) {
  const given = Number(layer.parameters ?? layer.params);
  if (Number.isFinite(given)) return given;
  if (!inputShape) return null;
  const inputs = inputShape.reduce((a, b) => a * b, 1);
  if (layer.type === "Convolution" && layer.filters && layer.size) {
    return layer.filters * (inputShape[0] * layer.size * layer.size + 1);
  }
  if (layer.type === "Affine" && layer.units) return layer.units * (inputs + 1);
  return null;
}

function describeLayer(layer) {
  const explanations = {
    Input: "the grey image",
    Convolution: "filters slide over the image",
    Relu: "negatives become zero",
    MaxPooling: "maximum of each block",
    AveragePooling: "average of each block",
    Affine: "all inputs to every unit",
  };
  return explanations[layer.type] ?? layer.type;
}

function renderArchitecture(container, card) {
  const layers = architectureLayers(card);
  if (!layers) {
    container.append(missing("The architecture"));
    return;
  }
  const sizes = layers.map((layer) => (layer.shape ? layer.shape.reduce((a, b) => a * b, 1) : 0));
  const largest = Math.max(...sizes, 1);
  const list = element("ol", { className: "arch", attrs: { "aria-label": "Layers, from input to output" } });
  for (const [index, layer] of layers.entries()) {
    const values = sizes[index];
    const bar = element("span", { className: "arch-bar", attrs: { "aria-hidden": "true" } }, [
      element("span", { className: "arch-bar-fill" }),
    ]);
    // Square-root scale: 17,280 values and 10 values both stay visible.
    bar.firstChild.style.width = `${Math.max(2, Math.sqrt(values / largest) * 100).toFixed(1)}%`;
    const item = element("li", { className: "arch-layer" }, [
      element("span", { className: "arch-what" }, [
        element("span", { className: "arch-name", text: layer.name }),
        element("span", { className: "arch-type", text: describeLayer(layer) }),
      ]),
      element("span", { className: "arch-data" }, [
        element("span", {
          className: "arch-shape",
          text: layer.shape ? `${layer.shape.join(" × ")}${layer.shape.length > 1 ? ` = ${values.toLocaleString("en")}` : ""}` : "",
        }),
        bar,
      ]),
      element("span", {
        className: "arch-weights",
        text: layer.weights ? `${layer.weights.toLocaleString("en")} weights` : "",
      }),
    ]);
    list.append(item);
  }
  container.append(list);
}

function renderSummary(container, card) {
  const facts = [];
  const accuracy = asFraction(card.test_accuracy);
  if (accuracy !== null) facts.push(["Test accuracy", percent(accuracy, 2)]);
  if (Number.isFinite(Number(card.parameter_count))) {
    facts.push(["Weights", Number(card.parameter_count).toLocaleString("en")]);
  }
  const history = historyOf(card);
  if (history) facts.push(["Training epochs", String(history.epochs.length)]);
  const trainingSeconds = history?.seconds?.reduce((a, b) => a + b, 0);
  if (trainingSeconds) facts.push(["Training time", `${Math.round(trainingSeconds / 60)} min`]);
  if (facts.length === 0) {
    container.append(missing(card.name ? `Accuracy of “${card.name}”` : "The test accuracy"));
    return;
  }
  const list = element("dl", { className: "facts" });
  for (const [term, value] of facts) {
    list.append(element("div", {}, [element("dt", { text: term }), element("dd", { text: value })]));
  }
  container.append(list);
  if (accuracy !== null) {
    container.append(
      element("p", {
        className: "muted",
        text: `Measured on the 10,000 MNIST test digits, which the network never saw while training.`,
      }),
    );
  }
}

/** Per-epoch history as arrays, from a list of epoch records or a dict of lists. */
function historyOf(card) {
  const history = card.history;
  if (!history) return null;
  const pick = (key) => {
    if (Array.isArray(history)) return history.map((entry) => Number(entry?.[key]));
    return Array.isArray(history[key]) ? history[key].map(Number) : [];
  };
  const loss = pick("loss");
  const train = pick("train_accuracy");
  const test = pick("test_accuracy");
  const seconds = pick("seconds");
  const epochs = Math.max(loss.length, train.length, test.length);
  if (epochs === 0) return null;
  return {
    epochs: Array.from({ length: epochs }, (_, i) => i + 1),
    loss: loss.every(Number.isFinite) ? loss : [],
    train: train.every(Number.isFinite) ? train.map(asFraction) : [],
    test: test.every(Number.isFinite) ? test.map(asFraction) : [],
    seconds: seconds.every(Number.isFinite) ? seconds : [],
  };
}

/** A small line chart in inline SVG. series: [{label, values, className}]. */
function lineChart({ title, series, yMin, yMax, format, width }) {
  const height = Math.round(Math.min(220, Math.max(150, width * 0.45)));
  const margin = { top: 14, right: 12, bottom: 34, left: 44 };
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const count = Math.max(...series.map((s) => s.values.length));
  const x = (i) => margin.left + (count > 1 ? (i / (count - 1)) * plotWidth : plotWidth / 2);
  const y = (v) => margin.top + (1 - (v - yMin) / (yMax - yMin || 1)) * plotHeight;

  const svg = svgElement("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img" });
  const summary = series
    .filter((s) => s.values.length)
    .map((s) => `${s.label} from ${format(s.values[0])} to ${format(s.values.at(-1))}`)
    .join("; ");
  svg.setAttribute("aria-label", `${title} over ${count} epochs: ${summary}.`);

  for (let k = 0; k <= 4; k += 1) {
    const value = yMin + ((yMax - yMin) * k) / 4;
    svg.append(svgElement("line", { x1: margin.left, x2: width - margin.right, y1: y(value), y2: y(value), class: "grid" }));
    svg.append(svgElement("text", { x: margin.left - 6, y: y(value) + 4, class: "tick", "text-anchor": "end" }, format(value)));
  }
  const step = Math.max(1, Math.ceil(count / 6));
  for (let i = 0; i < count; i += step) {
    svg.append(svgElement("text", { x: x(i), y: height - margin.bottom + 16, class: "tick", "text-anchor": "middle" }, String(i + 1)));
  }
  svg.append(svgElement("text", { x: margin.left + plotWidth / 2, y: height - 4, class: "axis-label", "text-anchor": "middle" }, "epoch"));
  for (const s of series) {
    if (!s.values.length) continue;
    const points = s.values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
    svg.append(svgElement("polyline", { points, class: `line ${s.className}` }));
    for (const [i, v] of s.values.entries()) {
      svg.append(svgElement("circle", { cx: x(i), cy: y(v), r: 2.6, class: `dot ${s.className}` }));
    }
  }
  return svg;
}

function chartLegend(series) {
  const legend = element("ul", { className: "chart-legend" });
  for (const s of series.filter((entry) => entry.values.length)) {
    legend.append(
      element("li", {}, [
        element("span", { className: `swatch ${s.className}`, attrs: { "aria-hidden": "true" } }),
        document.createTextNode(s.label),
      ]),
    );
  }
  return legend;
}

function renderCurves(container, card) {
  const history = historyOf(card);
  if (!history) {
    container.append(missing("The training history"));
    return;
  }
  const charts = element("div", { className: "charts" });
  // The SVG's user units match its width on screen when drawn, so its text stays at 12.5 px.
  const width = Math.round(Math.min(640, Math.max(260, container.clientWidth || 300)));
  if (history.loss.length) {
    const series = [{ label: "training loss", values: history.loss, className: "series-loss" }];
    const top = Math.max(...history.loss);
    charts.append(
      element("figure", { className: "chart-figure" }, [
        lineChart({
          title: "Training loss",
          series,
          yMin: 0,
          yMax: top > 0 ? top * 1.05 : 1,
          format: (v) => v.toFixed(2),
          width,
        }),
        element("figcaption", { text: "Loss (cross-entropy): lower is better." }),
      ]),
    );
  }
  const accuracies = [
    { label: "training digits", values: history.train, className: "series-train" },
    { label: "test digits", values: history.test, className: "series-test" },
  ].filter((s) => s.values.length);
  if (accuracies.length) {
    const all = accuracies.flatMap((s) => s.values);
    // The lower end on a multiple of 4%, so the five gridlines fall on whole percents.
    const low = Math.max(0, Math.floor(Math.min(...all) * 25) / 25);
    charts.append(
      element("figure", { className: "chart-figure" }, [
        lineChart({ title: "Accuracy", series: accuracies, yMin: low, yMax: 1, format: (v) => percent(v, 0), width }),
        chartLegend(accuracies),
        element("figcaption", { text: "Share of digits read correctly after each epoch." }),
      ]),
    );
  }
  container.append(charts);
}

function renderConfusion(container, card) {
  const matrix = card.confusion_matrix;
  if (!isMatrix(matrix, 10, 10)) {
    container.append(missing("The confusion matrix"));
    return;
  }
  const table = element("table", {
    className: "confusion",
    attrs: { "aria-labelledby": "confusion-title", "aria-describedby": "confusion-note" },
  });
  const corner = element("th", { attrs: { scope: "col" } }, [
    element("span", { className: "visually-hidden", text: "true digit, read as" }),
  ]);
  const head = element("tr", {}, [corner]);
  for (let c = 0; c < 10; c += 1) head.append(element("th", { text: String(c), attrs: { scope: "col" } }));
  table.append(element("thead", {}, [head]));
  const body = element("tbody");
  for (let r = 0; r < 10; r += 1) {
    const total = matrix[r].reduce((a, b) => a + b, 0) || 1;
    const row = element("tr", {}, [element("th", { text: String(r), attrs: { scope: "row" } })]);
    for (let c = 0; c < 10; c += 1) {
      const share = matrix[r][c] / total;
      const cell = element("td", { text: String(matrix[r][c]) });
      if (r === c) cell.classList.add("diagonal");
      // A square-root ramp so the few mistakes still show next to the many correct answers;
      // the accent colour blended over white by that strength.
      const strength = Math.sqrt(share) * 0.85;
      const background = [31, 58, 138].map((c) => Math.round(255 + (c - 255) * strength));
      cell.style.backgroundColor = css(background);
      cell.style.color = readableTextOn(background);
      cell.title = `true ${r}, read as ${c}: ${matrix[r][c]} (${percent(share)} of the ${r}s)`;
      row.append(cell);
    }
    body.append(row);
  }
  table.append(body);
  container.append(
    element("p", { className: "confusion-axis", attrs: { "aria-hidden": "true" }, text: "read as →" }),
    element("div", { className: "table-scroll" }, [table]),
    element("p", {
      className: "caption",
      attrs: { id: "confusion-note" },
      text: "Rows: the true digit of each test image. Columns: what the network read. The diagonal holds the correct answers; the shading shows each cell’s share of its row, so mistakes stand out.",
    }),
  );
}

function filterGrid(kernels, label) {
  const absMax = largestMagnitude(kernels);
  const grid = element("div", { className: "filter-grid", attrs: { role: "img", "aria-label": label } });
  for (const kernel of kernels) {
    const canvas = element("canvas", { className: "pixelated filter-thumb" });
    drawFilter(canvas, kernel, absMax);
    grid.append(canvas);
  }
  return { grid, absMax };
}

function renderFilters(container, card) {
  const before = kernelsOf(card.filters?.before);
  const after = kernelsOf(card.filters?.after);
  if (!before && !after) {
    container.append(missing("The filters"));
    return;
  }
  const pair = element("div", { className: "filter-pair" });
  for (const [kernels, title, description] of [
    [before, "Before training", "random starting weights"],
    [after, "After training", "learned from 60,000 digits"],
  ]) {
    if (!kernels) continue;
    const { grid, absMax } = filterGrid(kernels, `${kernels.length} filters ${title.toLowerCase()}: ${description}`);
    pair.append(
      element("figure", { className: "filter-set" }, [
        grid,
        element("figcaption", {}, [
          element("strong", { text: title }),
          document.createTextNode(` — ${description}; colour range ±${absMax.toFixed(2)}.`),
        ]),
      ]),
    );
  }
  container.append(pair);
}

/** Fill the model panel's four parts from a model card (any of its fields may be missing). */
export function renderModelCard(parts, card) {
  for (const part of Object.values(parts)) part.replaceChildren();
  renderSummary(parts.summary, card);
  renderArchitecture(parts.architecture, card);
  renderCurves(parts.curves, card);
  renderConfusion(parts.confusion, card);
  renderFilters(parts.filters, card);
}
