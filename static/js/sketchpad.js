// SketchPad: a drawing surface for a digit (or a number), driven by Pointer Events (mouse, touch and pen).
//
// Public API: on(), off(), clear(), undo(), redo(), isEmpty(), canUndo(), canRedo(),
// extent(), toDataURL(), setLogicalSize(width, height), width, height, lineWidth, version.
// Listeners are added by on() and removed by off() in pairs.
// Events (dispatched on the pad itself, an EventTarget):
//   "strokestart", "strokemove" (points were added during a stroke), "strokeend",
//   "change" (clear, undo or redo changed the drawing without a stroke).
//
// Strokes are kept as vectors in a fixed logical coordinate space (width × height logical px:
// 280 × 280 for one digit, wider for a number), so the canvas can be redrawn at any backing-store
// resolution (HiDPI) and exported at its logical size. The canvas's CSS keeps the same aspect ratio.

const LOGICAL_SIZE = 280;

export class SketchPad extends EventTarget {
  /**
   * @param {HTMLCanvasElement} canvas
   * @param {{lineWidth?: number, ink?: string, width?: number, height?: number}} options lineWidth,
   *   width and height in logical px
   */
  constructor(canvas, { lineWidth = 22, ink = "#111111", width = LOGICAL_SIZE, height = LOGICAL_SIZE } = {}) {
    super();
    this.canvas = canvas;
    this.width = width;
    this.height = height;
    this.lineWidth = lineWidth;
    this.ink = ink;
    /** Drawing changes count up; a prediction is tagged with the version it was made for. */
    this.version = 0;
    this._context = canvas.getContext("2d");
    this._strokes = []; // each: {width, points: [{x, y}]}
    this._undoStack = []; // actions: {kind: "stroke", stroke} | {kind: "clear", strokes}
    this._redoStack = [];
    this._active = null; // {pointerId, stroke}
    this._scale = { x: 1, y: 1 }; // backing-store pixels per logical pixel
    const up = this._onPointerUp.bind(this);
    // The canvas's listeners, added by on() and removed by off() from this one list.
    this._listeners = [
      ["pointerdown", this._onPointerDown.bind(this)],
      ["pointermove", this._onPointerMove.bind(this)],
      ["pointerup", up],
      ["pointercancel", up],
      ["lostpointercapture", up],
    ];
    this._onPixelRatioChange = this._onPixelRatioChange.bind(this);
    this._resizeObserver = null;
    this._dprQuery = null;
    this._resize();
  }

  on() {
    for (const [type, listener] of this._listeners) this.canvas.addEventListener(type, listener);
    this._resizeObserver = new ResizeObserver(() => this._resize());
    this._resizeObserver.observe(this.canvas);
    this._watchPixelRatio();
  }

  off() {
    for (const [type, listener] of this._listeners) this.canvas.removeEventListener(type, listener);
    this._resizeObserver?.disconnect();
    this._resizeObserver = null;
    this._dprQuery?.removeEventListener("change", this._onPixelRatioChange);
    this._dprQuery = null;
  }

  /** The finished strokes and the one being drawn. */
  _allStrokes() {
    return this._active ? [...this._strokes, this._active.stroke] : this._strokes;
  }

  isEmpty() {
    return this._strokes.length === 0 && this._active === null;
  }

  /**
   * How far the ink reaches: `span`, the longest side of the box around all stroke centre
   * lines (0 for dots), and `brush`, the widest stroke, both in logical px.
   */
  extent() {
    const strokes = this._allStrokes();
    let left = Infinity;
    let top = Infinity;
    let right = -Infinity;
    let bottom = -Infinity;
    for (const { points } of strokes) {
      for (const { x, y } of points) {
        left = Math.min(left, x);
        right = Math.max(right, x);
        top = Math.min(top, y);
        bottom = Math.max(bottom, y);
      }
    }
    const brush = Math.max(0, ...strokes.map((stroke) => stroke.width));
    return { span: strokes.length ? Math.max(right - left, bottom - top) : 0, brush };
  }

  canUndo() {
    return this._undoStack.length > 0;
  }

  canRedo() {
    return this._redoStack.length > 0;
  }

  /**
   * Another logical size (a pad of another shape): starts blank, with no history to undo, since
   * strokes drawn for one shape have no place on another. Dispatches "change".
   */
  setLogicalSize(width, height) {
    this._active = null;
    this._strokes = [];
    this._undoStack = [];
    this._redoStack = [];
    this.width = width;
    this.height = height;
    this._resize();
    this._changed();
  }

  /** Remove everything; undoable, so an accidental Escape loses nothing. */
  clear() {
    this._active = null;
    if (this._strokes.length === 0) return;
    this._undoStack.push({ kind: "clear", strokes: this._strokes });
    this._redoStack = [];
    this._strokes = [];
    this._changed();
  }

  undo() {
    const action = this._undoStack.pop();
    if (!action) return;
    if (action.kind === "stroke") this._strokes.pop();
    else this._strokes = action.strokes;
    this._redoStack.push(action);
    this._changed();
  }

  redo() {
    const action = this._redoStack.pop();
    if (!action) return;
    if (action.kind === "stroke") this._strokes.push(action.stroke);
    else this._strokes = [];
    this._undoStack.push(action);
    this._changed();
  }

  /**
   * The drawing as a PNG data URL: dark ink on a transparent background, width × height pixels
   * (one pixel per logical px, so a box the server finds in it is in logical px; the server
   * composites the alpha onto white and finds the dark ink). Encoded synchronously, not with
   * canvas.toBlob(): Chromium may hold that back until the page is idle — up to a second while
   * drawing.
   */
  toDataURL() {
    const canvas = document.createElement("canvas");
    canvas.width = this.width;
    canvas.height = this.height;
    const context = canvas.getContext("2d");
    for (const stroke of this._allStrokes()) this._drawStroke(context, stroke, 0);
    return canvas.toDataURL("image/png");
  }

  // --- pointer handling -------------------------------------------------------------------

  _onPointerDown(event) {
    if (this._active || !event.isPrimary) return; // one stroke at a time; ignore a second finger
    if (event.pointerType === "mouse" && event.button !== 0) return;
    event.preventDefault(); // no text selection or focus change while drawing
    this.canvas.setPointerCapture(event.pointerId); // keep the stroke if the pointer leaves the canvas
    const stroke = { width: this.lineWidth, points: [this._toLogical(event)] };
    this._active = { pointerId: event.pointerId, stroke };
    this._drawStroke(this._context, stroke, 0);
    this.version += 1;
    this.dispatchEvent(new Event("strokestart"));
  }

  _onPointerMove(event) {
    if (!this._active || event.pointerId !== this._active.pointerId) return;
    const stroke = this._active.stroke;
    const from = stroke.points.length;
    // Coalesced events carry every sample since the last frame: smooth, fast strokes.
    const samples = event.getCoalescedEvents?.() ?? [];
    for (const sample of samples.length ? samples : [event]) stroke.points.push(this._toLogical(sample));
    this._drawStroke(this._context, stroke, Math.max(0, from - 1));
    this.version += 1;
    this.dispatchEvent(new Event("strokemove"));
  }

  _onPointerUp(event) {
    if (!this._active || event.pointerId !== this._active.pointerId) return;
    const stroke = this._active.stroke;
    this._active = null;
    if (this.canvas.hasPointerCapture?.(event.pointerId)) this.canvas.releasePointerCapture(event.pointerId);
    this._strokes.push(stroke);
    this._undoStack.push({ kind: "stroke", stroke });
    this._redoStack = [];
    this.version += 1;
    this.dispatchEvent(new Event("strokeend"));
  }

  /** A pointer's position in logical px: the canvas is width × height logical px, whatever its
   * size on screen. */
  _toLogical(event) {
    const rect = this.canvas.getBoundingClientRect();
    const x = ((event.clientX - rect.left) / rect.width) * this.width;
    const y = ((event.clientY - rect.top) / rect.height) * this.height;
    return { x, y };
  }

  // --- rendering --------------------------------------------------------------------------

  _changed() {
    this.version += 1;
    this._redraw();
    this.dispatchEvent(new Event("change"));
  }

  _redraw() {
    const context = this._context;
    context.setTransform(1, 0, 0, 1, 0, 0);
    context.clearRect(0, 0, this.canvas.width, this.canvas.height);
    context.setTransform(this._scale.x, 0, 0, this._scale.y, 0, 0);
    for (const stroke of this._allStrokes()) this._drawStroke(context, stroke, 0);
  }

  /**
   * Draw a stroke from point index `start` on, as quadratic curves through the midpoints of
   * successive points (the same curve whether drawn incrementally or all at once).
   */
  _drawStroke(context, stroke, start) {
    const points = stroke.points;
    context.strokeStyle = this.ink;
    context.fillStyle = this.ink;
    context.lineWidth = stroke.width;
    context.lineCap = "round";
    context.lineJoin = "round";
    if (points.length === 1) {
      context.beginPath();
      context.arc(points[0].x, points[0].y, stroke.width / 2, 0, 2 * Math.PI);
      context.fill();
      return;
    }
    const mid = (a, b) => ({ x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 });
    context.beginPath();
    for (let i = Math.max(1, start); i < points.length; i += 1) {
      const from = i === 1 ? points[0] : mid(points[i - 2], points[i - 1]);
      const to = i === points.length - 1 ? points[i] : mid(points[i - 1], points[i]);
      context.moveTo(from.x, from.y);
      context.quadraticCurveTo(points[i - 1].x, points[i - 1].y, to.x, to.y);
    }
    context.stroke();
  }

  // --- HiDPI -----------------------------------------------------------------------------

  /** Backing store = CSS size × devicePixelRatio, so strokes stay sharp on HiDPI screens. */
  _resize() {
    const rect = this.canvas.getBoundingClientRect();
    const ratio = window.devicePixelRatio || 1;
    const cssWidth = rect.width || this.width;
    const cssHeight = rect.height || this.height;
    const pixels = {
      x: Math.max(1, Math.round(cssWidth * ratio)),
      y: Math.max(1, Math.round(cssHeight * ratio)),
    };
    if (this.canvas.width !== pixels.x || this.canvas.height !== pixels.y) {
      this.canvas.width = pixels.x;
      this.canvas.height = pixels.y;
    }
    this._scale = { x: pixels.x / this.width, y: pixels.y / this.height };
    this._redraw();
  }

  _watchPixelRatio() {
    // Moving the window to another screen or zooming changes devicePixelRatio; a media query
    // for the current ratio fires once when it stops matching, so it is renewed each time.
    this._dprQuery?.removeEventListener("change", this._onPixelRatioChange);
    this._dprQuery = window.matchMedia(`(resolution: ${window.devicePixelRatio}dppx)`);
    this._dprQuery.addEventListener("change", this._onPixelRatioChange);
  }

  _onPixelRatioChange() {
    this._resize();
    this._watchPixelRatio();
  }
}
