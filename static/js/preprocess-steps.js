// The preprocessing, step by step: each stage's picture as the API sends it (rows of grey levels
// 0–255) at its real size in pixels, enlarged the same way for all, in order from the image as
// received to the 28×28 input the network reads.

import { drawInput } from "./pixels.js";

// Each step's picture is enlarged by a whole number of CSS pixels per image pixel, to about this
// size (a 20×20 stage 4×, the 28×28 input 3×), so small stages stay readable; the caption gives
// the real size.
const BOX = 96;

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export class PreprocessSteps {
  /** @param {HTMLOListElement} list the [data-testid=preprocess-steps] list */
  constructor(list) {
    this.list = list;
  }

  /** @param {{name, title, width, height, pixels: number[][], ink: "dark"|"light"}[]} steps */
  show(steps) {
    const items = steps.map((step, position) => {
      const zoom = Math.max(1, Math.floor(BOX / Math.max(step.width, step.height)));
      const item = element("li", "preprocess-step");
      item.dataset.step = step.name;
      item.dataset.ink = step.ink;
      const canvas = element("canvas", "pixelated step-image");
      drawInput(canvas, step.pixels);
      canvas.style.width = `${step.width * zoom}px`;
      canvas.style.height = `${step.height * zoom}px`;
      canvas.setAttribute("role", "img");
      const size = `${step.width} by ${step.height} pixels`;
      canvas.setAttribute("aria-label", `Step ${position + 1}: ${step.title}, ${size}`);
      const frame = element("div", "step-frame");
      frame.append(canvas);
      const caption = element("p", "step-caption");
      caption.append(
        element("span", "step-title", step.title),
        element("span", "step-size", `${step.width}×${step.height}`),
      );
      item.append(frame, caption);
      return item;
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
