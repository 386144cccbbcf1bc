// NumberMode: the choice between reading one digit and reading a number, and what number mode
// adds to the page: the number read, with its verdict, under the pad ([data-testid=number]), and a
// box over each digit found (DigitBoxes). The digit chosen among them is handed to the page, which
// explains it as it explains a lone digit: /predict/number answers each digit as /predict does.
//
// Public API: new NumberMode(parts, {onModeChange, onChoose, announce}); on(), off(); mode, active,
// chosenDigit; expect(version); show(answer, context); clear(hint); showError(message, version);
// describeSource(source). onModeChange(mode) when the person switches; onChoose(digit, context)
// whenever the digit to explain changes (a new answer, or a box chosen), with the context (tag,
// final) show() was given. The choice is kept across answers for the same picture (a digit chosen
// stays chosen while the number is added to, or read again for a part inside the network) and
// falls back to the first digit when that digit is gone; clear() forgets it.

import { DigitBoxes } from "./digit-boxes.js";
import { formatProbability } from "./helpers.js";

/** The pad's logical size in each mode: one digit's square as ever, and a wide pad with room for
 * four digits of the same height (the brush and the handwriting keep their size). */
export const PAD_SIZES = { digit: { width: 280, height: 280 }, number: { width: 700, height: 280 } };

/** What to try after each refusal that is particular to numbers (main.js has the others'). */
export const NUMBER_ADVICE = {
  no_digit_found: "Write the digits larger, or upload an image with a clear number.",
  too_many_digits: "Write at most 12 digits.",
  too_many_marks: "Write the digits on one line, without specks, lines or extra marks.",
};

/** The number's verdict in the answer card's words: a number is as sure as its least sure digit. */
function verdictWords(answer) {
  const digits = answer.digits;
  const index = Math.max(0, digits.findIndex((digit) => digit.verdict === answer.verdict));
  const which = digits.length > 1 ? `digit ${index + 1}` : "the digit";
  if (answer.verdict === "not_a_digit") return `Not a digit? — ${which} is unlike the digits it learned from`;
  if (answer.verdict === "unsure") {
    const [first, second] = digits[index].probabilities
      .map((p, digit) => [p, digit])
      .sort((a, b) => b[0] - a[0]);
    return `unsure of ${which}: ${first[1]} or ${second[1]}?`;
  }
  const least = Math.min(...digits.map((digit) => digit.confidence));
  const sure = `${formatProbability(least)} sure`;
  return digits.length > 1 ? `every digit at least ${sure}` : sure;
}

export class NumberMode {
  /**
   * @param {{root: HTMLElement, choice: HTMLFieldSetElement, canvas: HTMLCanvasElement,
   *          preview: HTMLImageElement, number: HTMLElement, layer: HTMLElement}} parts root carries
   *   data-mode for the stylesheet; number is [data-testid=number]; layer holds the boxes
   * @param {{onModeChange: (mode: string) => void, onChoose: (digit: object, context: object) => void,
   *          announce: (text: string) => void}} callbacks
   */
  constructor(parts, { onModeChange, onChoose, announce }) {
    Object.assign(this, parts);
    this.onModeChange = onModeChange;
    this.onChoose = onChoose;
    this.announce = announce;
    this.digitsText = parts.number.querySelector(".number-digits");
    this.verdictText = parts.number.querySelector(".number-verdict");
    this.note = parts.number.querySelector(".number-note");
    this.defaultNote = this.note.textContent;
    this.digitLabel = parts.canvas.getAttribute("aria-label");
    this.boxes = new DigitBoxes(parts.layer, { onChoose: (index) => this._choose(index) });
    this.mode = "digit";
    this.answer = null; // the newest /predict/number answer on screen
    this.context = null; // what show() was given with it: {tag, final}
    this.wanted = 0; // the digit the person chose (its index), kept across answers
    this.chosenDigit = null; // the digit explained: one of the answer's, shaped as a /predict answer
    this._onChange = (event) => this._setMode(event.target.value);
  }

  on() {
    this.choice.addEventListener("change", this._onChange);
    this.boxes.on();
    const checked = this.choice.querySelector("input:checked");
    if (checked && checked.value !== this.mode) this._setMode(checked.value); // a browser restored it
  }

  off() {
    this.choice.removeEventListener("change", this._onChange);
    this.boxes.off();
  }

  get active() {
    return this.mode === "number";
  }

  /** A request for the picture of `version` is on its way (tests and bench/page.py compare). */
  expect(version) {
    this.number.dataset.requestedVersion = String(version);
  }

  /** A /predict/number answer: the number, its boxes, and the chosen digit handed on. */
  show(answer, context) {
    if (answer.digits.length === 0) return this.clear(); // the API refuses instead; never shown empty
    this.answer = answer;
    this.context = context;
    const upload = context.tag.source === "upload";
    this.number.dataset.state = "answer";
    this.number.dataset.verdict = answer.verdict;
    this.number.dataset.final = String(context.final);
    this.digitsText.textContent = answer.number;
    this.verdictText.textContent = verdictWords(answer);
    this.note.textContent = "";
    const index = this.wanted < answer.digits.length ? this.wanted : 0;
    this.boxes.show(answer.digits, {
      chosen: index,
      imageSize: upload ? null : PAD_SIZES.number, // an upload's own size: the preview's natural size
      over: upload ? this.preview : this.canvas,
    });
    this.number.dataset.renderedVersion = String(context.tag.version);
    this._handOn(index);
    if (context.final) this.announce(`Number read: ${answer.number}, ${this.verdictText.textContent}.`);
  }

  /** No number on screen (a blank pad, a dot, a new picture): the choice is forgotten. */
  clear(hint = this.defaultNote) {
    this.answer = null;
    this.context = null;
    this.wanted = 0;
    this.chosenDigit = null;
    this.boxes.clear();
    this.number.dataset.state = "empty";
    this.number.dataset.verdict = "";
    this.digitsText.textContent = "";
    this.verdictText.textContent = "";
    this.note.textContent = hint;
    const version = this.number.dataset.requestedVersion;
    if (version !== undefined) this.number.dataset.renderedVersion = version;
  }

  /** The request for `version` was refused: its reason (with advice) instead of a number. */
  showError(message, version) {
    this.clear(message);
    this.number.dataset.state = "error";
    if (version !== undefined) this.number.dataset.renderedVersion = String(version);
  }

  /** What the 28×28 input shows, for its caption: "Digit 2 of 3 of your drawing". */
  describeSource(source) {
    const picture = source === "upload" ? "your image" : "your drawing";
    if (!this.answer) return picture;
    return `Digit ${this.boxes.chosen + 1} of ${this.answer.digits.length} of ${picture}`;
  }

  _choose(index) {
    this.wanted = index;
    this._handOn(index);
  }

  _handOn(index) {
    const digit = this.answer.digits[index];
    // The moment of training that answered belongs to the whole number; the page reads it per digit.
    this.chosenDigit = this.answer.snapshot ? { ...digit, snapshot: this.answer.snapshot } : digit;
    this.onChoose(this.chosenDigit, this.context);
  }

  _setMode(mode) {
    this.mode = mode === "number" ? "number" : "digit";
    this.root.dataset.mode = this.mode;
    this.canvas.setAttribute("aria-label", this.active ? this.canvas.dataset.numberLabel : this.digitLabel);
    this.clear();
    this.onModeChange(this.mode);
  }
}
