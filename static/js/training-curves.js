// The model panel's training curves: the digits' loss, the outlier term and accuracy per epoch,
// as small inline SVG charts. The two losses are drawn apart: the outlier term cannot go below
// ln 10, so their sum would look stuck while the digits are being learned.

import { asFraction, element, missing, percent, svgElement } from "./helpers.js";

/** Per-epoch history as arrays, from a list of epoch records or a dict of lists. */
export function historyOf(card) {
  const history = card.history;
  if (!history) return null;
  const pick = (key) => {
    if (Array.isArray(history)) return history.map((entry) => Number(entry?.[key]));
    return Array.isArray(history[key]) ? history[key].map(Number) : [];
  };
  const digitLoss = pick("digit_loss");
  const outlierLoss = pick("outlier_loss");
  const train = pick("train_accuracy");
  const test = pick("test_accuracy");
  const seconds = pick("seconds");
  const epochs = Math.max(digitLoss.length, train.length, test.length);
  if (epochs === 0) return null;
  return {
    epochs: Array.from({ length: epochs }, (_, i) => i + 1),
    digitLoss: digitLoss.every(Number.isFinite) ? digitLoss : [],
    // Null in every epoch of a run without outlier exposure: no chart then.
    outlierLoss: outlierLoss.every(Number.isFinite) ? outlierLoss : [],
    train: train.every(Number.isFinite) ? train.map(asFraction) : [],
    test: test.every(Number.isFinite) ? test.map(asFraction) : [],
    seconds: seconds.every(Number.isFinite) ? seconds : [],
  };
}

/**
 * A small line chart in inline SVG. series: [{label, values, className}]; floor: an optional
 * {value, label} drawn as a dashed line (a bound the series cannot cross).
 */
function lineChart({ title, series, yMin, yMax, format, width, floor = null }) {
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
  if (floor) {
    const at = y(floor.value);
    svg.append(svgElement("line", { x1: margin.left, x2: width - margin.right, y1: at, y2: at, class: "floor" }));
    svg.append(svgElement("text", { x: width - margin.right, y: at - 5, class: "tick", "text-anchor": "end" }, floor.label));
  }
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

export function renderCurves(container, card) {
  const history = historyOf(card);
  if (!history) {
    container.append(missing("The training history"));
    return;
  }
  const charts = element("div", { className: "charts" });
  // The SVG's user units match its width on screen when drawn, so its text stays at 12.5 px.
  const width = Math.round(Math.min(640, Math.max(260, container.clientWidth || 300)));
  const lossChart = (title, values, className, caption, floor = null) => {
    const low = floor ? Math.min(floor.value, ...values) : 0;
    const high = Math.max(...values, low);
    const margin = (high - low) * 0.1 || high * 0.05 || 1;
    charts.append(
      element("figure", { className: "chart-figure" }, [
        lineChart({
          title,
          series: [{ label: title.toLowerCase(), values, className }],
          yMin: floor ? Math.max(0, low - margin) : 0,
          yMax: high + margin,
          format: (v) => v.toFixed(floor ? 3 : 2),
          width,
          floor,
        }),
        element("figcaption", { text: caption }),
      ]),
    );
  };
  if (history.digitLoss.length) {
    lossChart("Loss on digits", history.digitLoss, "series-loss",
      "Cross-entropy on the training digits, −log of the probability given to the right digit, averaged: lower is better.");
  }
  if (history.outlierLoss.length) {
    lossChart("Outlier term", history.outlierLoss, "series-outlier",
      "Cross-entropy of the non-digit images against an even answer. It can never go below ln 10 ≈ 2.303 " +
      "(all ten digits equally likely): the closer, the less the network claims a digit in what is none.",
      { value: Math.log(10), label: "ln 10" });
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
