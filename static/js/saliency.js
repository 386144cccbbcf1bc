// Saliency: how much each input pixel pushes the answer's score up (orange) or down (blue) — the
// gradient the API computes with the network's own backward pass — drawn over the 28×28 input,
// and a choice of a second digit to compare with ("why 7 and not 1?": the gradient of the
// difference of the two scores).

import { drawBlank, drawSaliency, largestAbsolute, saliencyGradient } from "./pixels.js";

// Pixels at least this grey (of 255) count as ink for the outline drawn over the colours.
const INK_LEVEL = 128;

/** Outline the ink (pixels ≥ INK_LEVEL) with white lines along the pixel edges, so the digit
 * stays readable under the colours. */
function drawInkOutline(canvas, input) {
  const rows = input.length;
  const cols = input[0].length;
  const cell = canvas.width / cols;
  const ink = (y, x) => y >= 0 && y < rows && x >= 0 && x < cols && input[y][x] >= INK_LEVEL;
  const context = canvas.getContext("2d");
  context.clearRect(0, 0, canvas.width, canvas.height);
  context.beginPath();
  for (let y = 0; y <= rows; y += 1) {
    for (let x = 0; x <= cols; x += 1) {
      if (ink(y, x) !== ink(y - 1, x) && x < cols) {
        context.moveTo(x * cell, y * cell);
        context.lineTo((x + 1) * cell, y * cell);
      }
      if (ink(y, x) !== ink(y, x - 1) && y < rows) {
        context.moveTo(x * cell, y * cell);
        context.lineTo(x * cell, (y + 1) * cell);
      }
    }
  }
  context.lineWidth = 2;
  context.strokeStyle = "rgba(255, 255, 255, 0.9)";
  context.stroke();
}

export class SaliencyView extends EventTarget {
  /** @param {HTMLElement} root the [data-testid=saliency] element; fires "versus-change" */
  constructor(root) {
    super();
    this.root = root;
    this.canvas = root.querySelector(".saliency-map");
    this.outline = root.querySelector(".saliency-outline");
    this.caption = root.querySelector(".saliency-caption");
    this.choices = [...root.querySelectorAll('input[name="versus"]')];
    this.versus = null; // the digit to compare with, or null: the answer's score alone
    root.querySelector("#legend-saliency").style.backgroundImage = saliencyGradient();
    root.querySelector(".versus").addEventListener("change", (event) => {
      if (event.target.name !== "versus") return;
      this.versus = event.target.value === "" ? null : Number(event.target.value);
      this.dispatchEvent(new Event("versus-change"));
    });
    this.clear();
  }

  /**
   * @param {{target: number, versus: number|null, values: number[][]}} saliency from the API
   * @param {number[][]} input the 28×28 input it belongs to
   */
  show(saliency, input) {
    const { target, versus, values } = saliency;
    const largest = largestAbsolute(values);
    drawSaliency(this.canvas, input, values, largest);
    drawInkOutline(this.outline, input);
    for (const choice of this.choices) {
      // Comparing the answer with itself means nothing: that choice waits for another answer.
      choice.disabled = choice.value === String(target);
    }
    this.root.dataset.target = String(target);
    this.root.dataset.versus = versus === null ? "" : String(versus);
    this.root.dataset.state = "shown";
    const score = versus === null ? `the score of ${target}` : `the score of ${target} minus the score of ${versus}`;
    let text =
      `Colours: how ${score} changes with more ink on each pixel ` +
      `(largest change ${largest.toPrecision(2)} per pixel).`;
    if (versus === null && this.versus !== null && this.versus === target) {
      text += ` The answer is now ${target} itself, so there is nothing to compare it with: choose another digit.`;
    }
    this.caption.textContent = text;
    this.canvas.setAttribute(
      "aria-label",
      `The 28 by 28 input with the saliency of ${target}${versus === null ? "" : ` against ${versus}`} over it`,
    );
  }

  /** Nothing to show: no answer yet, or the part was just opened and its data is on the way. */
  clear(message = "") {
    if (this.root.dataset.state === "empty" && this.caption.textContent === message) return;
    drawBlank(this.canvas, 28, 28);
    this.outline.getContext("2d").clearRect(0, 0, this.outline.width, this.outline.height);
    this.caption.textContent = message;
    this.root.dataset.state = "empty";
    delete this.root.dataset.target;
  }
}
