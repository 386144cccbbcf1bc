// The misread gallery: the MNIST test digits behind one cell of the confusion matrix, each as
// the 28×28 image the network read (white ink on black, drawn with putImageData), with its true
// and its predicted digit. The digits come from GET /api/model/misread, asked for once, when a
// cell is first chosen.

import { drawInput } from "./pixels.js";
import { element } from "./helpers.js";

/** GET /api/model/misread → {count, digits: [{index, label, predicted, pixels}]}. */
async function fetchMisread() {
  const response = await fetch("/api/model/misread");
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new Error(body?.error?.message ?? `HTTP ${response.status}`);
  if (!Array.isArray(body?.digits)) throw new Error("the answer holds no list of digits");
  return body;
}

function digitFigure(digit) {
  const canvas = element("canvas", {
    className: "misread-image pixelated",
    attrs: {
      width: "28",
      height: "28",
      role: "img",
      "aria-label": `Test image ${digit.index}: a ${digit.label} the network read as ${digit.predicted}`,
    },
  });
  drawInput(canvas, digit.pixels);
  return element(
    "li",
    {
      className: "misread-digit",
      attrs: {
        "data-index": String(digit.index),
        "data-label": String(digit.label),
        "data-predicted": String(digit.predicted),
      },
    },
    [
      element("figure", {}, [
        canvas,
        element("figcaption", { attrs: { "aria-hidden": "true" } }, [
          element("span", { className: "misread-true", text: `true ${digit.label}` }),
          element("span", { className: "misread-read", text: `read ${digit.predicted}` }),
          element("span", { className: "misread-index", text: `#${digit.index}` }),
        ]),
      ]),
    ],
  );
}

export class MisreadGallery {
  /**
   * @param {{matrix: number[][], load?: () => Promise<object>}} options - the card's 10×10
   *   confusion matrix (for the counts) and how to get the misread digits (tests may swap it).
   */
  constructor({ matrix, load = fetchMisread }) {
    this.matrix = matrix;
    this.load = load;
    this.pending = null;
    this.shown = 0;
    this.status = element("p", { className: "misread-status", attrs: { role: "status" } });
    this.list = element("ol", { className: "misread-list", attrs: { "aria-label": "Misread test digits" } });
    this.element = element(
      "div",
      {
        className: "misread",
        attrs: { id: "misread-gallery", "data-testid": "misread-gallery", "data-state": "idle" },
      },
      [this.status, this.list],
    );
    this.status.textContent = "Choose an orange cell to see the test digits the network got wrong there.";
  }

  /** Show the test digits of row `trueDigit`, column `readAs` (the diagonal: the row's mistakes). */
  async show(trueDigit, readAs) {
    const request = (this.shown += 1);
    const count = this.matrix[trueDigit][readAs];
    const rowMistakes = this.matrix[trueDigit].reduce((sum, n, c) => sum + (c === trueDigit ? 0 : n), 0);
    const expected = trueDigit === readAs ? rowMistakes : count;
    this.list.replaceChildren();
    this.element.dataset.true = String(trueDigit);
    this.element.dataset.pred = String(readAs);
    if (expected === 0) {
      this.status.textContent =
        trueDigit === readAs
          ? `All ${count.toLocaleString("en")} test ${trueDigit}s were read correctly.`
          : `No test ${trueDigit} was read as ${readAs}: the network never made this mistake.`;
      this.element.dataset.state = "empty";
      return;
    }
    this.element.dataset.state = "loading";
    this.status.textContent = "Loading the misread digits…";
    let digits;
    try {
      this.pending ??= this.load();
      digits = (await this.pending).digits;
    } catch (error) {
      this.pending = null; // a later choice tries again
      if (request !== this.shown) return;
      this.status.textContent = `Could not load the misread digits: ${error.message}`;
      this.element.dataset.state = "error";
      return;
    }
    if (request !== this.shown) return; // a newer choice owns the gallery
    const chosen = digits.filter(
      (d) => d.label === trueDigit && (trueDigit === readAs ? d.predicted !== trueDigit : d.predicted === readAs),
    );
    this.list.replaceChildren(...chosen.map(digitFigure));
    this.status.textContent = this.describe(trueDigit, readAs, count, chosen.length, expected);
    this.element.dataset.state = "shown";
  }

  describe(trueDigit, readAs, count, found, expected) {
    const plural = (n, word) => `${n.toLocaleString("en")} ${word}${n === 1 ? "" : "s"}`;
    let text =
      trueDigit === readAs
        ? `${plural(count, `test ${trueDigit}`)} read correctly; the ${plural(expected, "other")}:`
        : `${plural(count, `test ${trueDigit}`)} read as ${readAs}:`;
    if (found !== expected) {
      // The list is regenerated with the weights; a mismatch means the two were not.
      text += ` (the list of misread digits holds ${found}; it belongs to other weights)`;
    }
    return text;
  }
}
