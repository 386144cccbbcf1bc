// The confusion matrix of the model card as a table of buttons: rows are the true digits of the
// 10,000 test images, columns what the network read. Choosing a cell shows those test digits in
// the misread gallery (misread-gallery.js).
//
// Keyboard: the matrix is one Tab stop (a "roving" tabindex); the arrow keys move between cells,
// Home and End go to the row's first and last cell, Enter or Space chooses the cell.
//
// Colours: correct answers (the diagonal) in the accent blue, mistakes in orange — the more
// test digits in the cell, the deeper the orange, on a logarithmic ramp so a single mistake is
// still clearly orange next to the commonest one. Cells with no digit stay white.

import { css, readableTextOn } from "./pixels.js";
import { element, isMatrix, missing, percent } from "./helpers.js";
import { MisreadGallery } from "./misread-gallery.js";

const CORRECT = [31, 58, 138];
const MISTAKE_LIGHT = [253, 215, 170];
const MISTAKE_DEEP = [194, 65, 12];

function blend(from, to, t) {
  return from.map((value, i) => Math.round(value + (to[i] - value) * t));
}

/** Background of an off-diagonal cell holding `count` digits; `largest` is the commonest mistake. */
function mistakeColour(count, largest) {
  const t = largest > 1 ? Math.log(count) / Math.log(largest) : 1;
  return blend(MISTAKE_LIGHT, MISTAKE_DEEP, t);
}

function cellLabel(matrix, trueDigit, readAs) {
  const count = matrix[trueDigit][readAs];
  const total = matrix[trueDigit].reduce((a, b) => a + b, 0);
  const share = total ? ` (${percent(count / total)})` : "";
  const what = trueDigit === readAs ? "read correctly" : `read as ${readAs}`;
  return `${count.toLocaleString("en")} of the ${total.toLocaleString("en")} test ${trueDigit}s ${what}${share}`;
}

function cellButton(matrix, trueDigit, readAs, largestMistake) {
  const count = matrix[trueDigit][readAs];
  const button = element("button", {
    className: "confusion-cell",
    attrs: {
      type: "button",
      tabindex: "-1",
      "data-true": String(trueDigit),
      "data-pred": String(readAs),
      "data-count": String(count),
      "aria-pressed": "false",
      "aria-label": cellLabel(matrix, trueDigit, readAs),
      "aria-controls": "misread-gallery",
    },
  });
  button.title = button.getAttribute("aria-label");
  const cell = element("td", {}, [button]);
  if (trueDigit === readAs) {
    cell.className = "diagonal";
    button.textContent = String(count);
    button.style.backgroundColor = css(CORRECT);
    button.style.color = readableTextOn(CORRECT);
  } else if (count > 0) {
    cell.className = "mistake";
    const background = mistakeColour(count, largestMistake);
    button.textContent = String(count);
    button.style.backgroundColor = css(background);
    button.style.color = readableTextOn(background);
  } else {
    // A never-made mistake: a quiet dot, so the real mistakes are what the eye finds.
    cell.className = "never";
    button.append(element("span", { text: "·", attrs: { "aria-hidden": "true" } }));
  }
  return cell;
}

/** The off-diagonal cell with the most digits, as [true, read as]. */
function commonestMistake(matrix) {
  let best = [0, 1];
  for (let r = 0; r < 10; r += 1) {
    for (let c = 0; c < 10; c += 1) {
      if (r !== c && matrix[r][c] > matrix[best[0]][best[1]]) best = [r, c];
    }
  }
  return best;
}

/** Move the matrix's one Tab stop with the arrow keys, Home and End. */
function moveFocus(table, event) {
  const button = event.target.closest("[data-true][data-pred]");
  if (!button) return;
  let row = Number(button.dataset.true);
  let column = Number(button.dataset.pred);
  const moves = {
    ArrowUp: () => (row = Math.max(0, row - 1)),
    ArrowDown: () => (row = Math.min(9, row + 1)),
    ArrowLeft: () => (column = Math.max(0, column - 1)),
    ArrowRight: () => (column = Math.min(9, column + 1)),
    Home: () => (column = 0),
    End: () => (column = 9),
  };
  if (!(event.key in moves) || event.altKey || event.ctrlKey || event.metaKey) return;
  event.preventDefault();
  moves[event.key]();
  const next = table.querySelector(`[data-true="${row}"][data-pred="${column}"]`);
  makeTabStop(table, next);
  next.focus();
}

function makeTabStop(table, button) {
  for (const other of table.querySelectorAll("[data-true][data-pred]")) other.tabIndex = -1;
  button.tabIndex = 0;
}

/** A visible axis title; the table's own headers tell screen readers the same. */
function axisLabel(className, text) {
  return element("p", { className: `confusion-axis ${className}`, attrs: { "aria-hidden": "true" }, text });
}

/** Fill `container` with the matrix and the misread gallery below it. */
export function renderConfusion(container, card, { loadMisread } = {}) {
  const matrix = card.confusion_matrix;
  if (!isMatrix(matrix, 10, 10)) {
    container.append(missing("The confusion matrix"));
    return;
  }
  const [mistakeRow, mistakeColumn] = commonestMistake(matrix);
  const largestMistake = matrix[mistakeRow][mistakeColumn];

  const table = element("table", {
    className: "confusion",
    attrs: {
      "data-testid": "confusion-matrix",
      "aria-labelledby": "confusion-title",
      "aria-describedby": "confusion-note",
    },
  });
  const columns = element("colgroup", {}, [element("col", { className: "confusion-row-heads" })]);
  for (let c = 0; c < 10; c += 1) columns.append(element("col"));
  table.append(columns);
  const corner = element("th", { attrs: { scope: "col" } }, [
    element("span", { className: "visually-hidden", text: "true digit, read as" }),
  ]);
  const head = element("tr", {}, [corner]);
  for (let c = 0; c < 10; c += 1) head.append(element("th", { text: String(c), attrs: { scope: "col" } }));
  table.append(element("thead", {}, [head]));
  const body = element("tbody");
  for (let r = 0; r < 10; r += 1) {
    const row = element("tr", {}, [element("th", { text: String(r), attrs: { scope: "row" } })]);
    for (let c = 0; c < 10; c += 1) row.append(cellButton(matrix, r, c, largestMistake));
    body.append(row);
  }
  table.append(body);
  makeTabStop(table, table.querySelector(`[data-true="${mistakeRow}"][data-pred="${mistakeColumn}"]`));

  const gallery = new MisreadGallery({ matrix, load: loadMisread });
  table.addEventListener("keydown", (event) => moveFocus(table, event));
  table.addEventListener("click", (event) => {
    const button = event.target.closest("[data-true][data-pred]");
    if (!button) return;
    for (const other of table.querySelectorAll('[aria-pressed="true"]')) other.setAttribute("aria-pressed", "false");
    button.setAttribute("aria-pressed", "true");
    makeTabStop(table, button);
    gallery.show(Number(button.dataset.true), Number(button.dataset.pred));
  });

  const mistakes = matrix.flat().reduce((a, b) => a + b, 0) - matrix.reduce((sum, row, r) => sum + row[r], 0);
  container.append(
    element("div", { className: "confusion-frame" }, [
      axisLabel("confusion-axis-read", "read as →"),
      axisLabel("confusion-axis-true", "true digit"),
      element("div", { className: "table-scroll" }, [table]),
    ]),
    element("p", {
      className: "caption",
      attrs: { id: "confusion-note" },
      text:
        "Rows: the true digit of each test image. Columns: what the network read. The blue diagonal holds " +
        `the correct answers; the ${mistakes.toLocaleString("en")} mistakes are orange — the deeper, the more ` +
        "digits — and a dot marks a mistake never made. Choose a cell to see those test digits.",
    }),
    gallery.element,
  );
}
