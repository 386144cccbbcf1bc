// The convolution lab: the tutorial's lesson on sizes, on the 6×6 "5" or on the drawing's 28×28
// input. Choose a filter (simple ones in sizes 3 to 7, or one of the network's 30 learned 5×5
// filters), the stride, the padding and the pooling; the server computes the feature map and the
// pooled map with the network's own layers (POST /api/convolve), and the part shows them with the
// sizes worked out: out = 1 + (H + 2·pad − filter) / stride, rounded down.
//
// main.js uses: new ConvLab(root), setDrawing(rows of ints 0–255 | null), setFilters(kernels | null).
// Requests go only while the part is open and on screen; the newest one wins (client.js).

import { PredictionClient } from "./client.js";
import { element, formatNumber } from "./helpers.js";
import { cssGradient, DIVERGING, drawBlank, drawFilter, drawInput, largestAbsolute } from "./pixels.js";

// The tutorial's 6×6 example: a "5", ink = 1.
const FIVE = [
  [1, 1, 1, 1, 1, 0],
  [1, 0, 0, 0, 0, 0],
  [1, 1, 1, 1, 0, 0],
  [0, 0, 0, 0, 1, 0],
  [0, 0, 0, 0, 1, 0],
  [1, 1, 1, 1, 0, 0],
];

/** A size × size grid with weight(row, col) in each cell. */
const grid = (size, weight) =>
  Array.from({ length: size }, (_, row) => Array.from({ length: size }, (__, col) => weight(row, col)));

/** Whether index i is in the middle of 0..size−1 (one cell for an odd size, two for an even one). */
const middle = (i, size) => Math.abs(i - (size - 1) / 2) < 1;

/** A bar detector: +1 along the middle, a negative share elsewhere, so each line sums to zero. */
function bar(size, along) {
  const band = size % 2 ? 1 : 2;
  const off = -band / (size - band);
  return grid(size, (row, col) => (middle(along(row, col), size) ? 1 : off));
}

// The simple filters, by the select's option values.
const SIMPLE = {
  vertical: (size) => bar(size, (row, col) => col),
  horizontal: (size) => bar(size, (row) => row),
  edge: (size) => grid(size, (row, col) => Math.sign(col - (size - 1) / 2)), // −1 left, +1 right
  blur: (size) => grid(size, () => 1 / (size * size)),
};

/**
 * One size worked out in words: out = 1 + (length + 2·pad − window) / stride, rounded down, and
 * what the floor drops. `names` says what the letters are ("H", "filter"), `what` what is slid
 * over, `hatched` whether the picture shows what is dropped.
 */
function worked({ label, names, length, pad, window, stride, what, hatched }) {
  const padding = names.pad ? ` + 2·${names.pad}` : "";
  const numbers = names.pad ? ` + 2·${pad}` : "";
  const start =
    `${label}: out = 1 + (${names.length}${padding} − ${names.window}) / stride = ` +
    `1 + (${length}${numbers} − ${window}) / ${stride}`;
  const span = length + 2 * pad - window;
  if (span < 0) {
    return `${start}: the ${names.window} is larger than the ${what}, so there is no ${label.toLowerCase()}.`;
  }
  const out = 1 + Math.floor(span / stride);
  const remainder = span % stride;
  const result = `${start} = 1 + ${span} / ${stride} = ${out}, so ${out}×${out}.`;
  if (remainder === 0) {
    return `${result} ${span} / ${stride} divides evenly: the last stop ends at the ${what}’s edge.`;
  }
  const lines = remainder === 1 ? "row and column" : `${remainder} rows and columns`;
  return (
    `${result} ${span} / ${stride} leaves ${remainder}, and the size is rounded down: the last ${lines} ` +
    `of the ${what} are never reached${hatched ? " (hatched)" : ""}.`
  );
}

export class ConvLab {
  /** @param {HTMLElement} root the [data-testid=conv-lab] section */
  constructor(root) {
    this.root = root;
    this.details = root.querySelector("details");
    const find = (selector) => root.querySelector(selector);
    this.controls = {
      filter: find("#lab-filter"),
      size: find("#lab-size"),
      stride: find("#lab-stride"),
      pad: find("#lab-pad"),
      pool: find("#lab-pool"),
      poolSize: find("#lab-pool-size"),
      poolStride: find("#lab-pool-stride"),
    };
    this.sources = [...root.querySelectorAll('input[name="lab-source"]')];
    this.learned = find(".lab-learned");
    this.parts = {
      input: find(".lab-input"),
      inputCaption: find(".lab-input-caption"),
      image: find(".lab-image"),
      window: find(".lab-window"),
      right: find(".lab-dropped-right"),
      bottom: find(".lab-dropped-bottom"),
      kernel: find(".lab-kernel"),
      kernelCaption: find(".lab-kernel-caption"),
      map: find(".lab-map"),
      mapCaption: find(".lab-map-caption"),
      pooled: find(".lab-pooled"),
      pooledCaption: find(".lab-pooled-caption"),
      output: find('[data-testid="lab-output"]'),
      mapFormula: find(".lab-map-formula"),
      poolFormula: find(".lab-pool-formula"),
      error: find(".lab-error"),
      sizeNote: find("#lab-size-note"),
      sourceNote: find("#lab-source-note"),
    };
    find(".lab-legend-bar").style.backgroundImage = cssGradient(DIVERGING);
    this.drawing = null; // the drawing's 28×28 input (rows of ints 0–255), once there is one
    this.kernels = null; // the learned filters [30][5][5]
    this.sourceChosen = false; // the person chose the picture: a new drawing does not switch it
    this.inSight = false;
    this.sent = null; // the body of the newest request
    this.client = new PredictionClient({
      url: "/api/convolve",
      onResult: (result, tag) => this._show(result, tag),
      onError: (error, tag) => this._showError(error, tag),
    });
    this._onInput = (event) => {
      if (event.target.name === "lab-source") this.sourceChosen = true;
      this.refresh();
    };
    this._onToggle = () => this.refresh();
    root.addEventListener("input", this._onInput);
    root.addEventListener("change", this._onInput);
    this.details.addEventListener("toggle", this._onToggle);
    this.sight = new IntersectionObserver(([entry]) => {
      this.inSight = entry.isIntersecting;
      this.refresh();
    });
    this.sight.observe(root);
    this.refresh();
  }

  /** Remove the listeners and forget any request on its way. */
  destroy() {
    this.root.removeEventListener("input", this._onInput);
    this.root.removeEventListener("change", this._onInput);
    this.details.removeEventListener("toggle", this._onToggle);
    this.sight.disconnect();
    this.client.cancel();
  }

  /** The drawing's network input (28 rows of ints 0–255), or null when there is none. */
  setDrawing(rows) {
    this.drawing = rows ?? null;
    const [example, drawing] = this.sources;
    drawing.disabled = !this.drawing;
    this.parts.sourceNote.hidden = Boolean(this.drawing);
    if (!this.drawing) example.checked = true;
    else if (!this.sourceChosen) drawing.checked = true;
    this.refresh();
  }

  /** The learned filters ([count][F][F]), or null: only the simple ones are offered. */
  setFilters(kernels) {
    this.kernels = kernels;
    const options = (kernels ?? []).map((kernel, index) =>
      element("option", { text: `learned filter ${index + 1}`, attrs: { value: `learned-${index}` } }),
    );
    this.learned.replaceChildren(...options);
    const side = kernels?.[0].length;
    this.learned.label = kernels ? `The network’s ${kernels.length} learned filters, ${side}×${side}` : "";
    this.learned.hidden = !kernels;
    this.refresh();
  }

  /** What the controls say now: the picture (rows of numbers, 0–1), the filter and the sizes. */
  settings() {
    const value = (control) => Number(control.value);
    const useDrawing = this.drawing && this.sources[1].checked;
    const pixels = useDrawing ? this.drawing.map((row) => row.map((level) => level / 255)) : FIVE;
    const choice = this.controls.filter.value;
    const learned = choice.startsWith("learned-") ? this.kernels?.[Number(choice.slice(8))] : null;
    const kernel = learned ?? SIMPLE[choice in SIMPLE ? choice : "vertical"](value(this.controls.size));
    return {
      pixels,
      kernel,
      source: useDrawing ? "drawing" : "example",
      filterName: this.controls.filter.selectedOptions[0]?.text ?? "vertical bar",
      learned: Boolean(learned),
      stride: value(this.controls.stride),
      pad: value(this.controls.pad),
      pool: {
        kind: this.controls.pool.value,
        size: value(this.controls.poolSize),
        stride: value(this.controls.poolStride),
      },
    };
  }

  /** Show what the controls say and, when the part is open and on screen, ask for its maps. */
  refresh() {
    const settings = this.settings();
    for (const name of ["stride", "pad", "poolSize", "poolStride"]) {
      this.controls[name].nextElementSibling.textContent = this.controls[name].value;
    }
    this.controls.size.disabled = settings.learned;
    if (settings.learned) this.controls.size.value = String(settings.kernel.length); // the size it has
    this.parts.sizeNote.hidden = !settings.learned;
    // Closed or scrolled away, the lab draws and asks for nothing (a drawing sends a new input
    // many times a second); coming into sight refreshes it.
    if (!this.details.open || !this.inSight) return;
    this._drawInputs(settings);
    const { pixels, kernel, stride, pad, pool } = settings;
    const body = JSON.stringify({ pixels, kernel, stride, pad, pool });
    if (body === this.sent) return;
    this.sent = body;
    this.root.dataset.state = "waiting";
    this.client.submit(() => ({ tag: settings, body, headers: { "Content-Type": "application/json" } }));
  }

  /** The padded picture, its frames, and the filter: what the request is made of. */
  _drawInputs({ pixels, kernel, pad, source, filterName }) {
    const side = pixels.length;
    const padded = side + 2 * pad;
    const levels = Array.from({ length: padded }, (_, y) =>
      Array.from({ length: padded }, (__, x) => {
        const inside = y >= pad && y < pad + side && x >= pad && x < pad + side;
        return inside ? Math.round(pixels[y - pad][x - pad] * 255) : 0;
      }),
    );
    drawInput(this.parts.input, levels);
    const share = (count) => `${(100 * count) / padded}%`;
    const frame = { left: share(pad), top: share(pad), width: share(side), height: share(side) };
    Object.assign(this.parts.image.style, frame);
    this.parts.image.hidden = pad === 0;
    const size = kernel.length;
    Object.assign(this.parts.window.style, { width: share(size), height: share(size) });
    this.parts.window.hidden = size > padded;
    const picture = source === "drawing" ? "Your drawing" : "The 6×6 “5”";
    this.parts.inputCaption.textContent = pad
      ? `${picture}, ${side}×${side}, padded by ${pad} on each side: ${padded}×${padded}`
      : `${picture}, ${side}×${side}, no padding`;
    this.parts.input.setAttribute("aria-label", this.parts.inputCaption.textContent);
    drawFilter(this.parts.kernel, kernel, largestAbsolute(kernel));
    this.parts.kernelCaption.textContent = `Filter: ${filterName}, ${size}×${size}`;
  }

  /** The two sizes worked out for `settings`: the feature map's, then the pooled map's. */
  _formulas(settings) {
    const side = settings.pixels.length;
    const { pad, stride } = settings;
    const filter = settings.kernel.length;
    this.parts.mapFormula.textContent = worked({
      label: "Feature map",
      names: { length: "H", pad: "pad", window: "filter" },
      ...{ length: side, pad, window: filter, stride },
      what: "padded picture",
      hatched: true,
    });
    const span = side + 2 * pad - filter;
    const pool = settings.pool;
    this.parts.poolFormula.textContent =
      span < 0
        ? ""
        : worked({
            label: `Pooled (${pool.kind}, ${pool.size}×${pool.size})`,
            names: { length: "map", window: "window" },
            ...{ length: 1 + Math.floor(span / stride), pad: 0, window: pool.size, stride: pool.stride },
            what: "feature map",
            hatched: false,
          });
  }

  _show(result, settings) {
    const [rows, cols] = result.map_shape;
    const [pooledRows, pooledCols] = result.pooled_shape;
    // One scale for both maps: max pooling keeps values of the map, average pooling means of them.
    const absMax = largestAbsolute(result.map);
    drawFilter(this.parts.map, result.map, absMax); // any square grid, on the filters' diverging scale
    drawFilter(this.parts.pooled, result.pooled, absMax);
    const largest = formatNumber(absMax, 2);
    this.parts.mapCaption.textContent = `Feature map, ${rows}×${cols} (largest |value| ${largest})`;
    this.parts.pooledCaption.textContent =
      `${settings.pool.kind === "max" ? "Max" : "Average"} pooled, ${pooledRows}×${pooledCols}`;
    this.parts.map.setAttribute("aria-label", `The feature map, ${rows} by ${cols}`);
    this.parts.pooled.setAttribute("aria-label", `The pooled map, ${pooledRows} by ${pooledCols}`);
    this._formulas(settings);
    this._showDropped(result.map_remainder, settings.pixels.length + 2 * settings.pad);
    this.parts.output.dataset.shape = `${rows}×${cols}`;
    this.parts.output.dataset.pooledShape = `${pooledRows}×${pooledCols}`;
    this.parts.error.hidden = true;
    this.root.dataset.state = "shown";
  }

  /** Hatch the last `remainder` rows and columns of the padded picture: no window reaches them. */
  _showDropped(remainder, padded) {
    const share = `${(100 * remainder) / padded}%`;
    Object.assign(this.parts.right.style, { width: share, left: "", right: "0" });
    Object.assign(this.parts.bottom.style, { height: share });
    this.parts.right.hidden = this.parts.bottom.hidden = remainder === 0;
  }

  /** The server's refusal (a filter or pooling window that does not fit), in its own words. */
  _showError(error, settings) {
    this._formulas(settings);
    this.parts.error.textContent = error.message;
    if (error.status === 0) this.sent = null; // not answered: the same request may go again
    this.parts.error.hidden = false;
    this.parts.output.dataset.shape = "";
    this.parts.output.dataset.pooledShape = "";
    this._showDropped(0, 1);
    drawBlank(this.parts.map, 1, 1);
    drawBlank(this.parts.pooled, 1, 1);
    this.parts.mapCaption.textContent = "Feature map";
    this.parts.pooledCaption.textContent = "Pooled";
    this.root.dataset.state = "error";
  }
}
