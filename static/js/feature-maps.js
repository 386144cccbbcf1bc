// The convolution layer on screen: for every filter, its 5×5 weights, its feature map (after
// ReLU) and its pooled map, in a grid of radio buttons (one tab stop, arrow keys move), in filter
// order or strongest first, and the selected one enlarged with its receptive fields (map-zoom.js).
// All maps share one colour range per drawing (see pixels.js).

import { element, fillTable, formatNumber, percent } from "./helpers.js";
import { MapZoom } from "./map-zoom.js";
import { divergingColour, drawBlank, drawFilter, drawMap, largestAbsolute } from "./pixels.js";
import { geometryOf } from "./receptive-field.js";

export class FeatureMapView {
  /**
   * @param {{grid: HTMLElement, detail: HTMLElement, legendMax: HTMLElement, order?: HTMLSelectElement}} parts
   *   order: a select with the options "filter" and "strength" (the grid's order)
   */
  constructor({ grid, detail, legendMax, order = null }) {
    this.grid = grid;
    this.detail = detail;
    this.legendMax = legendMax;
    this.order = order;
    this.zoom = new MapZoom(detail);
    this.kernels = null; // [count][5][5] trained filters, from the model card
    this.bias = null; // [count] the filters' biases, when the model card has them
    this.geometry = geometryOf(null);
    this.kernelMax = 0;
    this.maps = null; // decoded relu1 maps of the latest answer
    this.pooled = null;
    this.input = null; // the 28×28 input (rows of ints 0–255) the maps were computed from
    this.sharedMax = 0;
    this.selected = 0;
    this.cells = [];
    this._pointerSelect = false;
    this._onChange = this._onChange.bind(this);
    this._onPointerDown = () => {
      this._pointerSelect = true;
    };
    this.grid.addEventListener("change", this._onChange);
    this.grid.addEventListener("pointerdown", this._onPointerDown);
    this.grid.addEventListener("keydown", () => {
      this._pointerSelect = false;
    });
    this.order?.addEventListener("change", () => this._arrange());
  }

  /**
   * Trained filters from the model card; null when the card has none.
   * @param {number[][][]|null} kernels [count][FH][FW]
   * @param {number[]|null} bias [count], for the receptive field's sum (optional)
   * @param {object[]|null} architecture the card's layers, for stride, padding and pooling (optional)
   */
  setKernels(kernels, bias = null, architecture = null) {
    this.kernels = kernels;
    this.bias = bias;
    this.geometry = geometryOf(architecture);
    this.kernelMax = kernels ? largestAbsolute(kernels) : 0;
    this._ensureCells(kernels ? kernels.length : this.cells.length || 30);
    this._paintAll();
  }

  /**
   * Show decoded maps (see pixels.decodeMaps); null clears them (blank canvas).
   * @param {number[][]|null} input the 28×28 input they came from, for the receptive field (optional)
   */
  show(maps, pooled, input = null) {
    if (!maps && !this.maps) return; // blank already: answers without maps cost nothing here
    this.maps = maps;
    this.pooled = pooled;
    this.input = input;
    // One shared range for all maps of this drawing: the largest activation anywhere.
    // Max pooling keeps each map's maximum, so the pooled maps fit the same range.
    this.sharedMax = maps ? Math.max(0, ...maps.scale, ...(pooled ? pooled.scale : [])) : 0;
    if (maps) this._ensureCells(maps.count);
    this.legendMax.textContent = maps ? this.sharedMax.toFixed(2) : "max";
    this._paintAll();
    this._arrange();
  }

  /** Put the cells in the chosen order: filter number, or strongest map (largest value) first. */
  _arrange() {
    const byStrength = this.order?.value === "strength" && this.maps;
    const order = this.cells.map((cell, index) => index);
    if (byStrength) order.sort((a, b) => this.maps.scale[b] - this.maps.scale[a] || a - b);
    const current = [...this.grid.querySelectorAll(".map-cell")].map((cell) => Number(cell.dataset.mapIndex));
    if (order.every((index, position) => current[position] === index)) return;
    const focused = this.grid.contains(document.activeElement) ? document.activeElement : null;
    this.grid.append(...order.map((index) => this.cells[index].label));
    focused?.focus({ preventScroll: true });
    this.grid.dataset.order = byStrength ? "strength" : "filter";
  }

  _ensureCells(count) {
    if (this.cells.length === count) return;
    this.grid.querySelectorAll(".map-cell").forEach((cell) => cell.remove());
    this.cells = [];
    this.selected = Math.min(this.selected, count - 1);
    for (let index = 0; index < count; index += 1) {
      const input = element("input", {
        className: "visually-hidden",
        attrs: { type: "radio", name: "feature-map", value: String(index) },
      });
      input.checked = index === this.selected;
      const hidden = { "aria-hidden": "true" };
      const [filter, map, pooled] = ["filter-thumb", "fmap", "pmap"].map((kind) =>
        element("canvas", { className: `pixelated ${kind}`, attrs: hidden }),
      );
      const label = element("label", { className: "map-cell", attrs: { "data-map-index": String(index) } }, [
        input,
        element("span", { className: "map-cell-body" }, [
          filter,
          map,
          pooled,
          element("span", { className: "map-number", text: `${index + 1}`, attrs: hidden }),
          element("span", { className: "visually-hidden", text: `Filter ${index + 1}` }),
        ]),
      ]);
      this.grid.append(label);
      this.cells.push({ label, input, filter, map, pooled });
    }
  }

  _onChange(event) {
    if (event.target.name !== "feature-map") return;
    this.selected = Number(event.target.value);
    this._paintDetail();
    // On a narrow screen the enlarged view sits above the grid: bring it into view after a tap
    // (not after arrow keys, which would scroll the focused cell away).
    if (this._pointerSelect) {
      const box = this.detail.getBoundingClientRect();
      if (box.top < 0 || box.bottom > window.innerHeight) {
        const still = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
        this.detail.scrollIntoView({ block: "start", behavior: still ? "auto" : "smooth" });
      }
    }
    this._pointerSelect = false;
  }

  _paintAll() {
    for (const [index, cell] of this.cells.entries()) {
      if (this.kernels?.[index]) drawFilter(cell.filter, this.kernels[index], this.kernelMax);
      else drawBlank(cell.filter, 5, 5);
      if (this.maps) {
        drawMap(cell.map, this.maps, index, this.sharedMax);
        if (this.pooled) drawMap(cell.pooled, this.pooled, index, this.sharedMax);
      } else {
        drawBlank(cell.map, 24, 24);
        drawBlank(cell.pooled, 12, 12);
      }
    }
    this._paintDetail();
  }

  _paintDetail() {
    const index = this.selected;
    const detail = this.detail;
    detail.querySelector(".detail-title").textContent = `Filter ${index + 1} of ${this.cells.length}`;
    const kernel = this.kernels?.[index];
    fillTable(detail.querySelector(".weights"), kernel ?? [], (w) => divergingColour(w, this.kernelMax), 2);
    detail.querySelector(".weights-missing").hidden = Boolean(kernel);
    detail.querySelector(".detail-bias").textContent =
      this.bias?.[index] === undefined ? "" : `· bias ${formatNumber(this.bias[index], 3)}`;
    this.zoom.update({
      index,
      kernel,
      bias: this.bias?.[index] ?? null,
      input: this.input,
      maps: this.maps,
      pooled: this.pooled,
      sharedMax: this.sharedMax,
      geometry: this.geometry,
    });
    const strength = detail.querySelector(".detail-strength");
    if (this.maps) {
      const peak = this.maps.scale[index];
      strength.textContent =
        peak > 0
          ? `Strongest response ${peak.toFixed(2)} (${percent(peak / this.sharedMax, 0)} of the brightest map).`
          : "This filter found nothing it responds to in this drawing: after ReLU the whole map is zero.";
    } else {
      strength.textContent = "Draw a digit to see how strongly this filter responds.";
    }
  }
}
