// DigitBoxes: a box over each digit found in a number, on the picture it was found in (the drawing
// or the uploaded image), and the choice of the digit the rest of the page explains.
//
// Public API: new DigitBoxes(layer, {onChoose}); on(), off(); show(digits, {chosen, imageSize, over});
// choose(index); clear(). `digits` are the /predict/number answer's digits ({digit, verdict, box:
// [x, y, width, height] in the image's own pixels}); `imageSize` is that image's {width, height}
// (null: the natural size of `over`, an <img>); `over` the element showing it (the canvas, or the
// preview <img>, object-fit aware). Each box is a
// button (Tab reaches it, Enter or Space chooses it, the arrow keys move between boxes); only its
// label takes the pointer, and the labels hang in a row under the pad, under their boxes: nothing
// over the picture stops a stroke (a finger starting a stroke on a label would choose instead).
// onChoose(index) is called when the person chooses a box (not for choose() called by the page).

/** The rectangle in which `element` shows an image of `natural` size, relative to the element's
 * offset parent: its content box, fitted as its object-fit says (centred: object-position's default). */
export function shownImageRect(element, natural) {
  const boxWidth = element.clientWidth;
  const boxHeight = element.clientHeight;
  const fit = getComputedStyle(element).objectFit;
  let scaleX = boxWidth / natural.width;
  let scaleY = boxHeight / natural.height;
  if (fit === "contain" || fit === "cover") {
    scaleX = scaleY = (fit === "contain" ? Math.min : Math.max)(scaleX, scaleY);
  } else if (fit === "none" || fit === "scale-down") {
    scaleX = scaleY = fit === "none" ? 1 : Math.min(1, scaleX, scaleY);
  }
  const width = natural.width * scaleX;
  const height = natural.height * scaleY;
  return {
    left: element.offsetLeft + element.clientLeft + (boxWidth - width) / 2,
    top: element.offsetTop + element.clientTop + (boxHeight - height) / 2,
    width,
    height,
  };
}

const VERDICT_WORDS = { unsure: "unsure", not_a_digit: "maybe not a digit" };
const LABEL_GAP = 6; // px between the pad's bottom edge and the labels, and between two labels

export class DigitBoxes {
  /**
   * @param {HTMLElement} layer an absolutely positioned element inside the picture's positioned parent
   * @param {{onChoose: (index: number) => void}} options
   */
  constructor(layer, { onChoose }) {
    this.layer = layer;
    this.onChoose = onChoose;
    this.buttons = [];
    this.chosen = -1;
    this._placement = null; // {boxes, imageSize, over}
    this._image = null; // the <img> whose load re-places the boxes
    this._onClick = (event) => {
      const button = event.target.closest(".digit-box");
      if (button) this._choose(Number(button.dataset.index));
    };
    this._onKey = (event) => this._key(event);
    this._onLoad = () => this._place();
    this._resizeObserver = null;
  }

  on() {
    this.layer.addEventListener("click", this._onClick);
    this.layer.addEventListener("keydown", this._onKey);
    this._resizeObserver = new ResizeObserver(() => this._place());
    this._resizeObserver.observe(this.layer.parentElement);
  }

  off() {
    this.layer.removeEventListener("click", this._onClick);
    this.layer.removeEventListener("keydown", this._onKey);
    this._resizeObserver?.disconnect();
    this._resizeObserver = null;
    this._watchLoad(null);
  }

  /** One box per digit, `chosen` marked. Buttons are reused, so a focused box keeps focus while
   * live answers arrive. */
  show(digits, { chosen, imageSize, over }) {
    while (this.buttons.length > digits.length) this.buttons.pop().remove();
    while (this.buttons.length < digits.length) {
      const label = document.createElement("span");
      label.className = "digit-box-label";
      label.setAttribute("aria-hidden", "true");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "digit-box";
      button.dataset.testid = "digit-box";
      button.append(label);
      this.layer.append(button);
      this.buttons.push(button);
    }
    for (const [index, digit] of digits.entries()) {
      const button = this.buttons[index];
      button.dataset.index = String(index);
      button.dataset.digit = String(digit.digit);
      button.dataset.verdict = digit.verdict;
      const doubt = VERDICT_WORDS[digit.verdict];
      const name = `Digit ${index + 1} of ${digits.length}: ${digit.digit}`;
      button.setAttribute("aria-label", doubt ? `${name}, ${doubt}` : name);
      button.firstChild.textContent = `${digit.digit}${doubt ? "?" : ""}`;
    }
    this._placement = { boxes: digits.map((digit) => digit.box), imageSize, over };
    this._watchLoad(over instanceof HTMLImageElement ? over : null);
    this.layer.hidden = digits.length === 0;
    this._place();
    this.choose(chosen);
  }

  /** Mark box `index` as the chosen one (the page explains that digit). */
  choose(index) {
    this.chosen = index;
    for (const [i, button] of this.buttons.entries()) button.setAttribute("aria-pressed", String(i === index));
  }

  clear() {
    for (const button of this.buttons) button.remove();
    this.buttons = [];
    this.chosen = -1;
    this._placement = null;
    this._watchLoad(null);
    this.layer.hidden = true;
  }

  _choose(index) {
    if (!(index >= 0 && index < this.buttons.length)) return;
    this.choose(index);
    this.onChoose(index);
  }

  /** Arrow keys move between the boxes, Home and End to the first and last (Enter and Space
   * press the focused button, as for any button). */
  _key(event) {
    const index = this.buttons.indexOf(event.target.closest(".digit-box"));
    if (index < 0 || event.altKey || event.ctrlKey || event.metaKey) return;
    const last = this.buttons.length - 1;
    const to = {
      ArrowLeft: index - 1,
      ArrowUp: index - 1,
      ArrowRight: index + 1,
      ArrowDown: index + 1,
      Home: 0,
      End: last,
    }[event.key];
    if (to === undefined) return;
    event.preventDefault(); // no page scroll
    this.buttons[Math.max(0, Math.min(last, to))].focus();
  }

  /** The layer over the picture as shown now (the pad resized, an image loaded), each box in
   * shares of the image, so it stays over its digit at any size. */
  _place() {
    if (!this._placement) return;
    const { boxes, over } = this._placement;
    // An image not loaded yet shows nothing: place the boxes when it has loaded.
    if (over instanceof HTMLImageElement && !(over.complete && over.naturalWidth > 0)) return;
    const size = this._placement.imageSize ?? { width: over.naturalWidth, height: over.naturalHeight };
    const rect = shownImageRect(over, size);
    Object.assign(this.layer.style, {
      left: `${rect.left}px`,
      top: `${rect.top}px`,
      width: `${rect.width}px`,
      height: `${rect.height}px`,
    });
    // The labels' row, just under the pad (in the layer's px); each label centred under its box,
    // moved right as far as it takes not to cover the one before (narrow digits side by side).
    const labelsTop = this.layer.parentElement.clientHeight - rect.top + LABEL_GAP;
    let free = -Infinity;
    for (const [index, [x, y, width, height]] of boxes.entries()) {
      const button = this.buttons[index];
      const style = button.style;
      style.left = `${(x / size.width) * 100}%`;
      style.top = `${(y / size.height) * 100}%`;
      style.width = `${(width / size.width) * 100}%`;
      style.height = `${(height / size.height) * 100}%`;
      const left = (x / size.width) * rect.width;
      const top = (y / size.height) * rect.height;
      const label = button.firstChild;
      const centred = left + ((width / size.width) * rect.width - label.offsetWidth) / 2;
      const labelLeft = Math.max(centred, free + LABEL_GAP);
      free = labelLeft + label.offsetWidth;
      label.style.left = `${labelLeft - left}px`;
      label.style.top = `${labelsTop - top}px`;
    }
  }

  _watchLoad(image) {
    if (this._image === image) return;
    this._image?.removeEventListener("load", this._onLoad);
    this._image = image;
    image?.addEventListener("load", this._onLoad);
  }
}
