// The preprocessing, step by step: each stage's picture as the API sends it (rows of grey levels
// 0–255) at its real size in pixels, enlarged the same way for all, in order from the image as
// received to the 28×28 input the network reads.

import { element } from "./helpers.js";
import { drawInput } from "./pixels.js";

// Each step's picture is enlarged by a whole number of CSS pixels per image pixel, to about this
// size (a 20×20 stage 4×, the 28×28 input 3×), so small stages stay readable; the caption gives
// the real size.
const BOX = 96;

export class PreprocessSteps {
  /** @param {HTMLOListElement} list the [data-testid=preprocess-steps] list */
  constructor(list) {
    this.list = list;
  }

  /** @param {{name, title, width, height, pixels: number[][], ink: "dark"|"light"}[]} steps */
  show(steps) {
    const items = steps.map((step, position) => {
      const zoom = Math.max(1, Math.floor(BOX / Math.max(step.width, step.height)));
      const size = `${step.width} by ${step.height} pixels`;
      const canvas = element("canvas", {
        className: "pixelated step-image",
        attrs: { role: "img", "aria-label": `Step ${position + 1}: ${step.title}, ${size}` },
      });
      drawInput(canvas, step.pixels);
      canvas.style.width = `${step.width * zoom}px`;
      canvas.style.height = `${step.height * zoom}px`;
      return element("li", { className: "preprocess-step", attrs: { "data-step": step.name, "data-ink": step.ink } }, [
        element("div", { className: "step-frame" }, [canvas]),
        element("p", { className: "step-caption" }, [
          element("span", { className: "step-title", text: step.title }),
          element("span", { className: "step-size", text: `${step.width}×${step.height}` }),
        ]),
      ]);
    });
    this.list.replaceChildren(...items);
    this.list.dataset.state = "shown";
  }

  clear() {
    if (this.list.dataset.state === "empty") return;
    this.list.replaceChildren();
    this.list.dataset.state = "empty";
  }
}
