// SketchPad: a drawing surface for one digit, driven by Pointer Events (mouse, touch and pen).
//
// Public API: on(), off(), clear(), undo(), redo(), isEmpty(), canUndo(), canRedo(),
// extent(), toDataURL(), lineWidth, version. Listeners are added by on() and removed by off() in pairs.
// Events (dispatched on the pad itself, an EventTarget):
//   "strokestart", "strokemove" (points were added during a stroke), "strokeend",
//   "change" (clear, undo or redo changed the drawing without a stroke).
//
// Strokes are kept as vectors in a fixed logical coordinate space (LOGICAL_SIZE × LOGICAL_SIZE),
// so the canvas can be redrawn at any backing-store resolution (HiDPI) and exported at any size.

const LOGICAL_SIZE = 280;

export class SketchPad extends EventTarget {
  /**
   * @param {HTMLCanvasElement} canvas
   * @param {{lineWidth?: number, ink?: string}} options lineWidth in logical px (of 280)
   */
  constructor(canvas, { lineWidth = 22, ink = "#111111" } = {}) {
    super();
    this.canvas = canvas;
    this.lineWidth = lineWidth;
    this.ink = ink;
    /** Drawing changes count up; a prediction is tagged with the version it was made for. */
    this.version = 0;
    this._context = canvas.getContext("2d");
    this._strokes = []; // each: {width, points: [{x, y}]}
    this._undoStack = []; // actions: {kind: "stroke", stroke} | {kind: "clear", strokes}
    this._redoStack = [];
    this._active = null; // {pointerId, stroke}
    this._scale = 1; // backing-store pixels per logical pixel
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
   * The drawing as a PNG data URL: dark ink on a transparent background, size × size pixels (the
   * server composites the alpha onto white and finds the dark ink). Encoded synchronously, not
   * with canvas.toBlob(): Chromium may hold that back until the page is idle — up to a second
   * while drawing.
   */
  toDataURL(size = LOGICAL_SIZE) {
    const canvas = document.createElement("canvas");
    canvas.width = size;
    canvas.height = size;
    const context = canvas.getContext("2d");
    context.scale(size / LOGICAL_SIZE, size / LOGICAL_SIZE);
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

  _toLogical(event) {
    const rect = this.canvas.getBoundingClientRect();
    const x = ((event.clientX - rect.left) / rect.width) * LOGICAL_SIZE;
    const y = ((event.clientY - rect.top) / rect.height) * LOGICAL_SIZE;
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
    context.setTransform(this._scale, 0, 0, this._scale, 0, 0);
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
    const cssSize = rect.width || LOGICAL_SIZE;
    const pixels = Math.max(1, Math.round(cssSize * (window.devicePixelRatio || 1)));
    if (this.canvas.width !== pixels || this.canvas.height !== pixels) {
      this.canvas.width = pixels;
      this.canvas.height = pixels;
    }
    this._scale = pixels / LOGICAL_SIZE;
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
