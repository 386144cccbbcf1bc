// FileDrop: an image file dragged from the desktop and dropped on an element.
//
// Public API: on(), off() (the element's listeners, added and removed in pairs), and the
// callback given to the constructor, called with the first dropped file. While a file is
// dragged over the element it has the class "dragging".

export class FileDrop {
  /**
   * @param {HTMLElement} zone where a file may be dropped
   * @param {(file: File) => void} onFile
   */
  constructor(zone, onFile) {
    this.zone = zone;
    this.onFile = onFile;
    // dragenter and dragleave fire for every child the pointer crosses: count them, so the
    // highlight goes only when the pointer has left the zone itself.
    this._depth = 0;
    this._listeners = [
      ["dragenter", this._onDragEnter.bind(this)],
      ["dragover", this._onDragOver.bind(this)],
      ["dragleave", this._onDragLeave.bind(this)],
      ["drop", this._onDrop.bind(this)],
    ];
  }

  on() {
    for (const [type, listener] of this._listeners) this.zone.addEventListener(type, listener);
  }

  off() {
    for (const [type, listener] of this._listeners) this.zone.removeEventListener(type, listener);
    this._end();
  }

  _onDragEnter(event) {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    this._depth += 1;
    this.zone.classList.add("dragging");
  }

  _onDragOver(event) {
    if (!carriesFiles(event)) return;
    event.preventDefault(); // allows the drop
    event.dataTransfer.dropEffect = "copy";
  }

  _onDragLeave() {
    this._depth = Math.max(0, this._depth - 1);
    if (this._depth === 0) this.zone.classList.remove("dragging");
  }

  _onDrop(event) {
    event.preventDefault();
    this._end();
    const file = [...(event.dataTransfer?.files ?? [])][0];
    if (file) this.onFile(file);
  }

  _end() {
    this._depth = 0;
    this.zone.classList.remove("dragging");
  }
}

function carriesFiles(event) {
  return [...event.dataTransfer.types].includes("Files");
}
