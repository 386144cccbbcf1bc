// The model panel's filters: for each of the 30 first-layer filters, its 5×5 weights before
// training, after training, and the change (after − before), side by side.
//
// Colour scales (diverging, blue − / white 0 / red +, see pixels.js), one per filter so that
// every filter's pattern is readable, whether its weights are large or small:
// - "before" on ± its largest starting weight: the start is small, and on the trained weights'
//   range it would be a white square;
// - "after" and "change" share one range, ± the largest of either, so the change reads against
//   what the filter became.
// Each filter also shows r, the Pearson correlation of its trained weights with its start: how
// much of the random pattern it began with survived training (the card's
// filters.correlation_with_start is the mean of these).

import { element, kernelsOf, missing } from "./helpers.js";
import { cssGradient, DIVERGING, drawFilter, largestAbsolute } from "./pixels.js";

/** Pearson correlation of two equally shaped kernels' weights (0 when either is constant). */
function correlation(a, b) {
  const x = a.flat();
  const y = b.flat();
  const mean = (values) => values.reduce((s, v) => s + v, 0) / values.length;
  const mx = mean(x);
  const my = mean(y);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < x.length; i += 1) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) ** 2;
    syy += (y[i] - my) ** 2;
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : 0;
}

function thumb(kernel, absMax, which) {
  const canvas = element("canvas", {
    className: `pixelated filter-thumb filter-thumb-${which}`,
    attrs: { "data-which": which },
  });
  drawFilter(canvas, kernel, absMax);
  return canvas;
}

/** One set of kernels alone (a card with only "before" or only "after"). */
function singleSet(kernels, title) {
  const absMax = largestAbsolute(kernels);
  const grid = element("div", {
    className: "filter-grid",
    attrs: { role: "img", "aria-label": `${kernels.length} filters ${title}` },
  });
  for (const kernel of kernels) grid.append(thumb(kernel, absMax, title.split(" ")[0]));
  return element("figure", { className: "filter-set" }, [
    grid,
    element("figcaption", { text: `${title}; colour range ±${absMax.toFixed(2)}.` }),
  ]);
}

function changeList(before, after, trainingImages) {
  const list = element("ol", { className: "filter-changes", attrs: { "aria-describedby": "filter-change-note" } });
  let beforeLow = Infinity;
  let beforeHigh = 0;
  for (const [k, kernel] of after.entries()) {
    const change = kernel.map((row, y) => row.map((w, x) => w - before[k][y][x]));
    const beforeMax = largestAbsolute(before[k]);
    const afterMax = largestAbsolute([kernel, change]);
    beforeLow = Math.min(beforeLow, beforeMax);
    beforeHigh = Math.max(beforeHigh, beforeMax);
    const r = correlation(before[k], kernel);
    const trio = element(
      "span",
      {
        className: "filter-trio",
        attrs: {
          role: "img",
          "aria-label":
            `Filter ${k + 1} before training (±${beforeMax.toFixed(3)}), after training and the change ` +
            `(±${afterMax.toFixed(2)}); correlation with its start ${r.toFixed(2)}`,
        },
      },
      [thumb(before[k], beforeMax, "before"), thumb(kernel, afterMax, "after"), thumb(change, afterMax, "change")],
    );
    trio.title = `Filter ${k + 1}: before ±${beforeMax.toFixed(3)}; after and change ±${afterMax.toFixed(2)}`;
    const attrs = { "data-filter": String(k), "data-correlation": r.toFixed(4) };
    list.append(
      element("li", { className: "filter-change", attrs }, [
        element("span", { className: "filter-number", text: String(k + 1), attrs: { "aria-hidden": "true" } }),
        trio,
        element("span", { className: "filter-r", text: `r ${r.toFixed(2)}`, attrs: { "aria-hidden": "true" } }),
      ]),
    );
  }
  const note = element("p", { className: "caption", attrs: { id: "filter-change-note" } }, [
    element("strong", { text: "Before" }),
    document.createTextNode(
      ` — the random start, whose largest weight in a filter is only ${beforeLow.toFixed(3)} to ` +
        `${beforeHigh.toFixed(3)}: magnified to fill the colour range. `,
    ),
    element("strong", { text: "After" }),
    document.createTextNode(` — learned from ${trainingImages}, and the `),
    element("strong", { text: "change" }),
    document.createTextNode(
      " — after minus before, both on one colour range. Each filter has its own ranges (hover over a filter " +
        "for them), so every pattern shows. r: how much a trained filter still resembles its start " +
        "(correlation; 1 = the same pattern, 0 = none of it).",
    ),
  ]);
  const key = element("p", { className: "filter-key", attrs: { "aria-hidden": "true" } }, [
    document.createTextNode("Each filter, left to right: "),
    element("strong", { text: "before" }),
    document.createTextNode(" · "),
    element("strong", { text: "after" }),
    document.createTextNode(" · "),
    element("strong", { text: "change" }),
  ]);
  return [key, list, note];
}

/** The colour key of the weights: − blue, 0 white, + red. */
function legend() {
  const bar = element("span", { className: "legend-bar", attrs: { "aria-hidden": "true" } });
  bar.style.backgroundImage = cssGradient(DIVERGING);
  return element("div", { className: "legend legend-small" }, [
    element("span", { className: "legend-end", text: "−" }),
    bar,
    element("span", { className: "legend-end", text: "+" }),
    element("span", { className: "legend-note", text: "Blue weights are negative, white zero, red positive." }),
  ]);
}

export function renderFilters(container, card) {
  const before = kernelsOf(card.filters?.before);
  const after = kernelsOf(card.filters?.after);
  if (!before && !after) {
    container.append(missing("The filters"));
    return;
  }
  if (before && after && before.length === after.length && before[0].length === after[0].length) {
    const count = Number(card.training?.training_images);
    container.append(...changeList(before, after, count > 0 ? `${count.toLocaleString("en")} digits` : "the digits"));
  } else {
    if (before) container.append(singleSet(before, "before training"));
    if (after) container.append(singleSet(after, "after training"));
  }
  container.append(legend());
}
