// The chosen filter's maps enlarged, with a pixel cursor: pointing at a pixel (mouse, pen or
// finger) or moving over the map with the arrow keys shows that pixel's receptive field — its
// 5×5 patch on the input, the 25 products weight × pixel, their sum and the bias (see
// receptive-field.js for the arithmetic). A pooled pixel shows the 2×2 block it took its maximum from.

import { element, fillTable, formatNumber } from "./helpers.js";
import { divergingColour, drawBlank, drawInput, drawMap, largestAbsolute, mapValueAt } from "./pixels.js";
import { convolutionAt, poolingAt } from "./receptive-field.js";

/** Place an absolutely positioned outline over a box of cells (in cells) of a square grid `extent` cells wide. */
function outline(node, { top, left, height, width }, extent) {
  node.hidden = false;
  node.style.top = `${(top / extent) * 100}%`;
  node.style.left = `${(left / extent) * 100}%`;
  node.style.height = `${(height / extent) * 100}%`;
  node.style.width = `${(width / extent) * 100}%`;
}

const KEY_STEPS = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };

export class MapZoom {
  /** @param {HTMLElement} detail the [data-testid=map-zoom] panel */
  constructor(detail) {
    this.detail = detail;
    this.frames = {
      map: detail.querySelector('.zoom-frame[data-kind="map"]'),
      pooled: detail.querySelector('.zoom-frame[data-kind="pooled"]'),
    };
    this.field = detail.querySelector('[data-testid="receptive-field"]');
    this.hint = detail.querySelector(".zoom-hint");
    this.announcer = detail.querySelector(".zoom-announcer");
    this.data = null; // {index, kernel, bias, input, maps, pooled, sharedMax, geometry}
    this.cursor = null; // {kind: "map" | "pooled", row, col}
    this.sentence = ""; // the shown sum in words, for the screen-reader announcement
    for (const [kind, frame] of Object.entries(this.frames)) {
      const pick = (event) => this._pointAt(kind, event);
      frame.addEventListener("pointermove", pick);
      frame.addEventListener("pointerdown", pick);
      frame.addEventListener("keydown", (event) => this._onKey(kind, event));
      frame.addEventListener("focus", () => {
        if (this.cursor?.kind !== kind) this._moveTo(kind, this._strongestPixel(kind), false);
      });
    }
  }

  /** Redraw for new data (another map or another drawing); the cursor stays where it was. */
  update(data) {
    this.data = data;
    const { maps, pooled, index, sharedMax } = data;
    const mapCanvas = this.frames.map.querySelector("canvas");
    const pooledCanvas = this.frames.pooled.querySelector("canvas");
    if (maps) drawMap(mapCanvas, maps, index, sharedMax);
    else drawBlank(mapCanvas, 24, 24);
    if (pooled) drawMap(pooledCanvas, pooled, index, sharedMax);
    else drawBlank(pooledCanvas, 12, 12);
    const usable = Boolean(maps && data.input && data.kernel);
    for (const frame of Object.values(this.frames)) frame.tabIndex = usable ? 0 : -1;
    this.hint.hidden = !usable;
    if (!usable) this.cursor = null;
    this._render();
  }

  _size(kind) {
    const maps = kind === "map" ? this.data?.maps : this.data?.pooled;
    return maps ? { height: maps.height, width: maps.width } : null;
  }

  _pointAt(kind, event) {
    const size = this._size(kind);
    if (!size || !this.data?.kernel || !this.data?.input) return;
    const box = event.currentTarget.getBoundingClientRect();
    const col = Math.floor(((event.clientX - box.left) / box.width) * size.width);
    const row = Math.floor(((event.clientY - box.top) / box.height) * size.height);
    if (row < 0 || col < 0 || row >= size.height || col >= size.width) return;
    this._moveTo(kind, { row, col }, false);
  }

  _onKey(kind, event) {
    const step = KEY_STEPS[event.key];
    const size = this._size(kind);
    if (!step || !size || event.altKey || event.ctrlKey || event.metaKey) return;
    event.preventDefault();
    const from = this.cursor?.kind === kind ? this.cursor : this._strongestPixel(kind);
    const row = Math.min(size.height - 1, Math.max(0, from.row + step[0]));
    const col = Math.min(size.width - 1, Math.max(0, from.col + step[1]));
    this._moveTo(kind, { row, col }, true);
  }

  /** The brightest pixel of the chosen map: a good first place to look. */
  _strongestPixel(kind) {
    const maps = kind === "map" ? this.data?.maps : this.data?.pooled;
    if (!maps) return { row: 0, col: 0 };
    const offset = this.data.index * maps.width * maps.height;
    let best = 0;
    for (let p = 1; p < maps.width * maps.height; p += 1) {
      if (maps.bytes[offset + p] > maps.bytes[offset + best]) best = p;
    }
    return { row: Math.floor(best / maps.width), col: best % maps.width };
  }

  _moveTo(kind, { row, col }, announce) {
    if (this.cursor?.kind === kind && this.cursor.row === row && this.cursor.col === col) return;
    this.cursor = { kind, row, col };
    this._render();
    if (announce && this.sentence) {
      this.announcer.textContent = `Row ${row + 1}, column ${col + 1}: ${this.sentence}`;
    }
  }

  _render() {
    for (const [kind, frame] of Object.entries(this.frames)) {
      const mark = frame.querySelector(".zoom-cursor");
      const size = this._size(kind);
      if (this.cursor?.kind === kind && size) {
        outline(mark, { top: this.cursor.row, left: this.cursor.col, height: 1, width: 1 }, size.width);
      } else {
        mark.hidden = true;
      }
    }
    if (!this.cursor || !this.data?.maps) {
      this.field.hidden = true;
      return;
    }
    this._renderField();
  }

  _renderField() {
    const { kernel, bias, input, maps, index, geometry } = this.data;
    const field = this.field;
    const { kind } = this.cursor;
    // The map pixel whose sum is shown: the chosen one, or the one a pooled pixel kept.
    const recompute = (row, col) =>
      convolutionAt(input, kernel, bias, { row, col, stride: geometry.stride, pad: geometry.pad });
    let target = { row: this.cursor.row, col: this.cursor.col };
    const pool = field.querySelector(".rf-pool");
    const area = field.querySelector(".rf-area");
    const extent = input.length;
    const windowSize = kernel.length;
    if (kind === "pooled") {
      const pooled = poolingAt((row, col) => recompute(row, col).relu, {
        row: this.cursor.row,
        col: this.cursor.col,
        size: geometry.poolSize,
        stride: geometry.poolStride,
      });
      target = pooled.winner;
      this._renderPool(pool, pooled);
      const first = pooled.block[0][0];
      const span = (geometry.poolSize - 1) * geometry.stride + windowSize;
      const top = first.row * geometry.stride - geometry.pad;
      const left = first.col * geometry.stride - geometry.pad;
      outline(area, { top, left, height: span, width: span }, extent);
    } else {
      pool.hidden = true;
      area.hidden = true;
    }
    const sum = recompute(target.row, target.col);
    const sent = mapValueAt(maps, index, target.row, target.col);

    field.hidden = false;
    field.dataset.kind = kind;
    field.dataset.filter = String(index);
    field.dataset.row = String(target.row);
    field.dataset.col = String(target.col);
    field.dataset.sum = String(sum.sum);
    field.dataset.bias = sum.bias === null ? "" : String(sum.bias);
    field.dataset.value = String(sum.value);
    field.dataset.mapValue = String(sent);
    field.querySelector(".rf-title").textContent =
      kind === "pooled"
        ? `Pooled pixel row ${this.cursor.row + 1}, column ${this.cursor.col + 1}`
        : `Map pixel row ${target.row + 1}, column ${target.col + 1}`;

    drawInput(field.querySelector(".rf-input"), input);
    const patch = { top: sum.top, left: sum.left, height: windowSize, width: windowSize };
    outline(field.querySelector(".rf-patch"), patch, extent);
    const grey = (v) => Array(3).fill(Math.round(v * 255));
    fillTable(field.querySelector(".rf-pixels"), sum.pixels, grey, 2);
    const largest = Math.max(1e-12, largestAbsolute(sum.products));
    fillTable(field.querySelector(".rf-products"), sum.products, (v) => divergingColour(v, largest), 3);
    this.sentence = this._renderSum(field.querySelector(".rf-sum"), sum, sent);
  }

  _renderPool(pool, { block, winner }) {
    pool.hidden = false;
    const table = pool.querySelector(".rf-block");
    table.replaceChildren();
    for (const line of block) {
      const tr = element("tr");
      for (const cell of line) {
        const kept = cell === winner;
        const td = element("td", { className: kept ? "kept" : "", text: formatNumber(cell.value, 3) });
        if (kept) td.append(element("span", { className: "visually-hidden", text: " (kept)" }));
        tr.append(td);
      }
      table.append(tr);
    }
    const first = block[0][0];
    const last = block.at(-1).at(-1);
    const where = `rows ${first.row + 1}–${last.row + 1}, columns ${first.col + 1}–${last.col + 1}`;
    pool.querySelector(".rf-pool-text").textContent =
      winner.value > 0
        ? `Max pooling keeps the largest of the map pixels in ${where}: row ${winner.row + 1}, ` +
          `column ${winner.col + 1} (outlined).`
        : `All the map pixels in ${where} are 0 after ReLU, so the pooled pixel is 0 ` +
          `(the first, row ${winner.row + 1}, column ${winner.col + 1}, is outlined).`;
  }

  /** The sum as a small worked equation; returns it as one sentence for screen readers. */
  _renderSum(list, { sum, bias, value, relu }, sent) {
    const lines = [
      ["Σ products", formatNumber(sum, 3)],
      ["+ bias", bias === null ? "unknown" : formatNumber(bias, 3)],
      [bias === null ? "= before ReLU, bias left out" : "= before ReLU", formatNumber(value, 3)],
      [value > 0 ? "ReLU keeps it" : "ReLU makes it 0", formatNumber(relu, 3)],
      ["map as sent", formatNumber(sent, 3)],
    ];
    list.replaceChildren(
      ...lines.flatMap(([term, number], line) => [
        element("dt", { text: term }),
        element("dd", { className: line === 3 ? "rf-result" : "", text: number }),
      ]),
    );
    return lines.map(([term, number]) => `${term} ${number}`).join("; ");
  }
}
