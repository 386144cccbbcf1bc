// The answer card: the verdict (a digit, "7 or 1?", or "Not a digit?"), the ten probability
// bars, and whether the answer on screen is provisional (the pointer is still down, or the
// stroke's own answer has not arrived yet) or final. Only final answers are announced.

import { formatProbability, LOG_FLOOR } from "./helpers.js";

const VERDICTS = ["digit", "unsure", "not_a_digit"];

/**
 * Bar length in % of the track, on a log scale: 10^LOG_FLOOR (0.0001%) is an empty bar, 100% a
 * full one. A trained network is very sure of most digits: the runner-up of a typical MNIST test
 * digit is near 0.001%, so a linear bar (or a whole-percent label) would hide it.
 */
function barLength(p) {
  if (!(p > 0)) return 0;
  return Math.max(0, Math.min(1, (Math.log10(p) - LOG_FLOOR) / -LOG_FLOOR)) * 100;
}

/** The digits ranked by probability, most probable first: [[p, digit], ...]. */
function ranked(probabilities) {
  return probabilities.map((p, d) => [p, d]).sort((a, b) => b[0] - a[0]);
}

/**
 * What the card says for one result, as plain strings (also what the badge and screen readers
 * get). `noveltyLimit` is the model card's verdict_rule.novelty_limit (above it: not a digit).
 */
function describe(result, noveltyLimit = 1) {
  const verdict = VERDICTS.includes(result.verdict) ? result.verdict : "digit";
  const [[p1, first], [p2, second]] = ranked(result.probabilities);
  const novelty = result.verdict_scores?.novelty;
  if (verdict === "not_a_digit") {
    return {
      verdict,
      headline: "Not a digit?",
      alternative: "",
      confidence: "Unlike the digits it learned from",
      note:
        (p1 < 0.3
          ? `No digit stands out: the best guess, ${first}, gets only ${formatProbability(p1)}.`
          : `If it is one, it looks most like ${first} (${formatProbability(p1)}) — yet the network ` +
            "always names one of its ten digits, even for a scribble.") +
        (Number.isFinite(novelty)
          ? ` Novelty ${novelty.toFixed(2)}; above ${noveltyLimit} counts as not a digit.`
          : ""),
      badge: "not a digit?",
      spoken: `Not a digit? If it is one, it looks most like ${first}.`,
    };
  }
  if (verdict === "unsure") {
    return {
      verdict,
      headline: "",
      alternative: `or ${second}?`,
      confidence: `${first}: ${formatProbability(p1)} · ${second}: ${formatProbability(p2)}`,
      note: `The network hesitates between ${first} and ${second}.`,
      badge: `${first} or ${second}?`,
      spoken: `Unsure: ${first} or ${second}? ${formatProbability(p1)} for ${first}.`,
    };
  }
  return {
    verdict,
    headline: "",
    alternative: "",
    confidence: `${formatProbability(p1)} sure`,
    note: `${p1 < 0.9 ? "Fairly sure" : "Confident"} — the runner-up is ${second} at ${formatProbability(p2)}.`,
    badge: `${first} · ${formatProbability(p1)}`,
    spoken: `The network reads ${first}, ${formatProbability(p1)} sure.`,
  };
}

export class AnswerCard {
  /**
   * @param {{card: HTMLElement, verdict: HTMLElement, digit: HTMLElement, headline: HTMLElement,
   *          alternative: HTMLElement, confidence: HTMLElement, note: HTMLElement, emptyHint: HTMLElement,
   *          error: HTMLElement, announcer: HTMLElement, badge: HTMLElement, bars: HTMLElement[]}} parts
   */
  constructor(parts) {
    Object.assign(this, parts);
    this.defaultHint = parts.emptyHint.textContent;
    this.noveltyLimit = 1;
    this._lastAnnouncement = "";
  }

  /** The model card's verdict rule (its limits are what the note quotes); ignored when absent. */
  setVerdictRule(rule) {
    if (Number.isFinite(rule?.novelty_limit)) this.noveltyLimit = rule.novelty_limit;
  }

  /** A result from /predict; `final` = it answers the finished drawing (else muted, not announced). */
  show(result, { final }) {
    const text = describe(result, this.noveltyLimit);
    this.error.hidden = true;
    this.emptyHint.hidden = true;
    this.verdict.dataset.verdict = text.verdict;
    this.digit.textContent = String(result.digit);
    this.headline.textContent = text.headline;
    this.alternative.textContent = text.alternative;
    this.confidence.textContent = text.confidence;
    this.note.textContent = text.note;
    this.badge.textContent = text.badge;
    this.badge.dataset.verdict = text.verdict;
    const [[, first], [, second]] = ranked(result.probabilities);
    for (const bar of this.bars) {
      const d = Number(bar.dataset.digit);
      const p = result.probabilities[d];
      bar.querySelector(".bar-fill").style.width = `${barLength(p).toFixed(1)}%`;
      bar.querySelector(".bar-value").textContent = formatProbability(p);
      bar.classList.toggle("top", d === first);
      bar.classList.toggle("second", d === second);
    }
    this.card.dataset.state = "answer";
    this.setFinal(final);
    if (final) this.announce(text.spoken);
  }

  /** Mark the answer on screen as provisional (muted, "reading…") or final. */
  setFinal(final) {
    this.digit.dataset.state = final ? "final" : "provisional";
    this.badge.dataset.state = this.digit.dataset.state;
  }

  /** No answer: a blank canvas (or a dot); `hint` says what to do. */
  clear(hint = this.defaultHint) {
    this.digit.textContent = "";
    delete this.digit.dataset.state;
    this.verdict.dataset.verdict = "";
    for (const part of [this.headline, this.alternative, this.confidence, this.note, this.badge]) {
      part.textContent = "";
    }
    this.emptyHint.textContent = hint;
    this.emptyHint.hidden = false;
    for (const bar of this.bars) {
      bar.querySelector(".bar-fill").style.width = "0%";
      bar.querySelector(".bar-value").textContent = "–";
      bar.classList.remove("top", "second");
    }
    this.error.hidden = true;
    this.card.dataset.state = "empty";
    this._lastAnnouncement = "";
  }

  /** A request failed: the server's reason and what to try. */
  showError(message) {
    this.clear();
    this.emptyHint.hidden = true;
    this.error.textContent = message;
    this.error.hidden = false;
    this.digit.dataset.state = "final";
    this.card.dataset.state = "error";
    this.announce(`No answer: ${message}`);
  }

  announce(text) {
    if (text === this._lastAnnouncement) return;
    this._lastAnnouncement = text;
    this.announcer.textContent = text;
  }
}
