// PredictionClient: sends images to POST /predict so that the newest drawing always wins.
//
// - At most one request is in flight. While one is, newer work waits as ONE pending job (a
//   newer job replaces an older pending one), sent as soon as the flight lands.
// - Live requests (while drawing) are also spaced at least `minInterval` ms apart.
// - Urgent requests (end of a stroke, undo, upload) abort the one in flight and go at once.
// - Every job gets a sequence number; a response older than one already shown is dropped,
//   and cancel() (blank canvas) drops everything in flight or pending.

class RequestError extends Error {
  constructor(message, { code = "network_error", status = 0 } = {}) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

export class PredictionClient {
  /**
   * @param {{url?: string, minInterval?: number,
   *          onResult: (result: object, tag: object) => void,
   *          onError: (error: RequestError, tag: object) => void}} options
   */
  constructor({ url = "/predict", minInterval = 50, onResult, onError }) {
    this.url = url;
    this.minInterval = minInterval;
    this.onResult = onResult;
    this.onError = onError;
    this._sequence = 0; // last sequence number handed out
    this._shown = 0; // sequence number of the newest response delivered (or cancelled)
    this._flight = null; // {sequence, controller}
    this._pending = null; // a job waiting for the flight to land
    this._timer = 0;
    this._lastStart = -Infinity;
  }

  /**
   * Queue a job: a function returning {tag, body, headers?, url?} at the moment it is sent (so
   * a drawing is exported in its newest state, and asks for what the page shows then, not when
   * it was queued); body is anything fetch() accepts, or a promise of it; url defaults to the
   * client's.
   */
  submit(job, { urgent = false } = {}) {
    if (urgent) {
      this._flight?.controller.abort();
      this._flight = null;
      this._dropPending();
      this._start(job);
      return;
    }
    this._pending = job;
    this._pump();
  }

  /** Forget everything queued or in flight (the canvas became blank). */
  cancel() {
    this._flight?.controller.abort();
    this._flight = null;
    this._dropPending();
    this._shown = this._sequence;
  }

  _dropPending() {
    this._pending = null;
    clearTimeout(this._timer);
    this._timer = 0;
  }

  _pump() {
    if (this._flight || !this._pending || this._timer) return;
    const wait = this._lastStart + this.minInterval - performance.now();
    if (wait > 0) {
      this._timer = setTimeout(() => {
        this._timer = 0;
        this._pump();
      }, wait);
      return;
    }
    const job = this._pending;
    this._pending = null;
    this._start(job);
  }

  async _start(job) {
    const sequence = ++this._sequence;
    const controller = new AbortController();
    const flight = { sequence, controller };
    this._flight = flight;
    this._lastStart = performance.now();
    let tag = null;
    try {
      const prepared = job();
      tag = prepared.tag;
      const body = await prepared.body;
      if (controller.signal.aborted) return;
      const response = await fetch(prepared.url ?? this.url, {
        method: "POST",
        body,
        headers: prepared.headers,
        signal: controller.signal,
      });
      const payload = await readJson(response);
      if (sequence <= this._shown) return; // a newer answer is already on screen
      this._shown = sequence;
      if (response.ok) this.onResult(payload, tag);
      else this.onError(errorFromPayload(payload, response.status), tag);
    } catch (error) {
      if (error.name === "AbortError" || sequence <= this._shown) return;
      this._shown = sequence;
      this.onError(
        error instanceof RequestError
          ? error
          : new RequestError("Could not reach the Digit Lens server. Check the connection and try again."),
        tag,
      );
    } finally {
      if (this._flight === flight) {
        this._flight = null;
        this._pump();
      }
    }
  }
}

async function readJson(response) {
  try {
    return await response.json();
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new RequestError(`The server sent an unreadable answer (HTTP ${response.status}).`, {
      code: "bad_response",
      status: response.status,
    });
  }
}

function errorFromPayload(payload, status) {
  const detail = payload && typeof payload === "object" ? payload.error : null;
  const message = detail?.message || `The server answered with HTTP ${status}.`;
  return new RequestError(message, { code: detail?.code || "http_error", status });
}
