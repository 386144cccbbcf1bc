// Training replay: a slider over the snapshots training kept (the model card's "replay": the random
// start first, the served network last). Moving it asks for the drawing to be read again by the
// network as it was at that moment (POST /predict?snapshot=K&include=filters), so the whole page —
// answer, probabilities, maps, filters, hidden units, scores, saliency — shows that moment.
//
// Public API (main.js): setReplay(list) from the model card; query() the query parameters of the
// chosen moment ("" for the served network, the default); showResult(result) for each answer shown,
// clearResult() when there is none; expectAnswer() when the page is read again for a new moment;
// the event "snapshot-change" when the chosen moment changes. The page is read again by main.js,
// whose client lets the newest request win while the slider is dragged.
//
// Play runs from the random start to the end, each moment shown until its answer is on screen and
// a little longer (longer still with prefers-reduced-motion: the page changes all at once at each
// step, so fewer changes a second); moving the slider, reset or the button again stops it.

import { formatProbability, percent } from "./helpers.js";

// How long each moment stays on screen while playing, at least (ms): the answer, bars and maps
// change together, and a learner needs a moment to see what changed.
const DWELL = 900;
const DWELL_REDUCED_MOTION = 2200;

/** "0.55", "1", "2.5": epochs done, as few decimals as say it. */
function formatEpoch(epoch) {
  if (epoch >= 1 && Number.isInteger(epoch)) return String(epoch);
  return epoch < 1 ? epoch.toFixed(2) : epoch.toFixed(1);
}

export class TrainingReplay extends EventTarget {
  /** @param {HTMLElement} root the [data-testid=replay] section (hidden until there is a replay) */
  constructor(root) {
    super();
    this.root = root;
    this.slider = root.querySelector('[data-testid="replay-slider"]');
    this.position = root.querySelector('[data-testid="replay-position"]');
    this.playButton = root.querySelector('[data-testid="replay-play"]');
    this.resetButton = root.querySelector('[data-testid="replay-reset"]');
    this.accuracyBars = root.querySelector(".replay-accuracy");
    this.reading = root.querySelector('[data-testid="replay-reading"]');
    this.snapshots = [];
    this.waiting = false; // an answer for the chosen moment is on its way
    this.filtersShown = false;
    this._timer = 0;
    this._reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)");
    this._onInput = () => {
      this.stop();
      this._changed();
    };
    this._onPlay = () => (this.playing ? this.stop() : this.play());
    this._onReset = () => this.reset();
    this.slider.addEventListener("input", this._onInput);
    this.playButton.addEventListener("click", this._onPlay);
    this.resetButton.addEventListener("click", this._onReset);
  }

  destroy() {
    this.stop();
    this.slider.removeEventListener("input", this._onInput);
    this.playButton.removeEventListener("click", this._onPlay);
    this.resetButton.removeEventListener("click", this._onReset);
  }

  /** The model card's replay ([{step, epoch, test_accuracy, test_loss}, ...]); hidden without one. */
  setReplay(list) {
    const valid = Array.isArray(list) && list.length >= 2 &&
      list.every((s) => Number.isFinite(s?.step) && Number.isFinite(s?.epoch) && Number.isFinite(s?.test_accuracy));
    this.snapshots = valid ? list : [];
    this.root.hidden = !valid;
    if (!valid) return;
    this.slider.max = String(this.last);
    this.slider.value = String(this.last);
    this.root.dataset.renderedSnapshot = String(this.last);
    this._drawAccuracy();
    this._label();
  }

  get last() {
    return this.snapshots.length - 1;
  }

  /** The chosen snapshot's index (the last: the served network). */
  get index() {
    return Number(this.slider.value);
  }

  get playing() {
    return this.playButton.getAttribute("aria-pressed") === "true";
  }

  /** The query parameters of the chosen moment: "" for the served network. */
  query() {
    const snapshot = this.snapshotQuery();
    return snapshot && `${snapshot}&include=filters`;
  }

  /** "snapshot=K" for an earlier moment, "" for the served network. */
  snapshotQuery() {
    return this.snapshots.length === 0 || this.index === this.last ? "" : `snapshot=${this.index}`;
  }

  /** main.js has asked for the page to be read again at the chosen moment. */
  expectAnswer() {
    this.waiting = true;
  }

  /** An answer is on screen: which moment it belongs to (tests and play wait for this). */
  showResult(result) {
    if (this.snapshots.length === 0) return;
    const shown = result.snapshot?.index ?? this.last;
    this.root.dataset.renderedSnapshot = String(shown);
    this.filtersShown = Boolean(result.filters); // an earlier moment's filters are on screen
    // The answer, beside the slider: on a phone the answer card is a screen away.
    const p = result.probabilities?.[result.digit];
    this.reading.textContent = Number.isFinite(p) ? `Reads your digit as ${result.digit}, ${formatProbability(p)} sure.` : "";
    if (shown === this.index) this.waiting = false;
  }

  /** No answer on screen (a blank canvas, an error). */
  clearResult() {
    this.waiting = false;
    this.reading.textContent = "Draw a digit to see how each moment of training reads it.";
  }

  /** Run from the random start to the end. */
  play() {
    if (this.snapshots.length === 0) return;
    this.playButton.setAttribute("aria-pressed", "true");
    this.playButton.querySelector(".replay-play-text").textContent = "Stop";
    this._set(0);
    this._schedule();
  }

  stop() {
    clearTimeout(this._timer);
    this._timer = 0;
    if (!this.playing) return;
    this.playButton.setAttribute("aria-pressed", "false");
    this.playButton.querySelector(".replay-play-text").textContent = "Play training";
  }

  /** Back to the served network, the default. */
  reset() {
    this.stop();
    if (this.index !== this.last) this._set(this.last);
  }

  _schedule() {
    const dwell = this._reducedMotion.matches ? DWELL_REDUCED_MOTION : DWELL;
    this._timer = setTimeout(() => this._advance(), dwell);
  }

  _advance() {
    if (!this.playing) return;
    if (this.waiting) {
      // The moment's answer is not on screen yet: show it before moving on.
      this._timer = setTimeout(() => this._advance(), 50);
      return;
    }
    if (this.index >= this.last) {
      this.stop();
      return;
    }
    this._set(this.index + 1);
    if (this.index >= this.last) this.stop();
    else this._schedule();
  }

  _set(index) {
    this.slider.value = String(index);
    this._changed();
  }

  _changed() {
    this._label();
    this.dispatchEvent(new Event("snapshot-change"));
  }

  _label() {
    const s = this.snapshots[this.index];
    const where = this.index === 0 ? " (random start)" : this.index === this.last ? " (trained)" : "";
    const text = `step ${s.step.toLocaleString("en")}${where} · epoch ${formatEpoch(s.epoch)} · ` +
      `${percent(s.test_accuracy, 1)} on test digits`;
    this.position.textContent = text;
    this.slider.setAttribute("aria-valuetext", text);
    this.resetButton.disabled = this.index === this.last;
    this.root.dataset.snapshot = String(this.index);
    for (const [k, bar] of [...this.accuracyBars.children].entries()) bar.classList.toggle("current", k === this.index);
  }

  /** Each snapshot's test accuracy as a small column under the slider: the learning curve. */
  _drawAccuracy() {
    this.accuracyBars.replaceChildren(
      ...this.snapshots.map((s) => {
        const bar = document.createElement("span");
        bar.style.height = `${Math.max(2, s.test_accuracy * 100).toFixed(1)}%`;
        return bar;
      }),
    );
  }
}
