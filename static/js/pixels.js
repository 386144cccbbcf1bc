// Pixel rendering with putImageData: the network's input, feature maps and filters.
//
// Colour scales (documented on the page next to the legends):
// - Feature maps and pooled maps share ONE range per drawing: colour = value / (largest value in
//   any of the maps), on a dark-to-bright sequential scale (brightness alone carries the value).
// - Filters (weights can be negative) use a diverging scale centred on zero: blue for negative,
//   white for zero, orange-red for positive, with weight / (largest |weight| of the set shown).

/** Anchor colours of a perceptually ordered dark-to-bright scale (close to matplotlib "inferno"). */
const SEQUENTIAL_ANCHORS = [
  [0, 0, 4], [40, 11, 84], [101, 21, 110], [159, 42, 99],
  [212, 72, 66], [245, 125, 21], [250, 193, 39], [252, 255, 164],
];
// Blue, white, red (close to ColorBrewer "RdBu", reversed).
const DIVERGING_ANCHORS = [
  [33, 102, 172], [103, 169, 207], [209, 229, 240], [247, 247, 247],
  [253, 219, 199], [239, 138, 98], [178, 24, 43],
];

function lookupTable(anchors) {
  const table = new Uint8ClampedArray(256 * 3);
  for (let i = 0; i < 256; i += 1) {
    const position = (i / 255) * (anchors.length - 1);
    const low = Math.min(Math.floor(position), anchors.length - 2);
    const t = position - low;
    for (let c = 0; c < 3; c += 1) {
      table[i * 3 + c] = anchors[low][c] + (anchors[low + 1][c] - anchors[low][c]) * t;
    }
  }
  return table;
}

export const SEQUENTIAL = lookupTable(SEQUENTIAL_ANCHORS);
export const DIVERGING = lookupTable(DIVERGING_ANCHORS);

/** An [r, g, b] colour as CSS. */
export const css = ([r, g, b]) => `rgb(${r}, ${g}, ${b})`;

/** CSS gradient through a table's colours, left to right, for the legends. */
export function cssGradient(table) {
  const stop = (i) => `${css(tableColour(table, Math.round((i / 8) * 255)))} ${i * 12.5}%`;
  const stops = Array.from({ length: 9 }, (_, i) => stop(i));
  return `linear-gradient(to right, ${stops.join(", ")})`;
}

/** Bytes of a base64 string. */
function base64Bytes(text) {
  if (typeof Uint8Array.fromBase64 === "function") return Uint8Array.fromBase64(text);
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/**
 * Decode an encoded activation block from /predict (see API_CONTRACT: value = byte/255 * scale[i]).
 * @returns {{count: number, height: number, width: number, bytes: Uint8Array, scale: number[]}}
 */
export function decodeMaps(encoded) {
  const [count, height, width] = encoded.shape;
  const bytes = base64Bytes(encoded.data);
  if (bytes.length !== count * height * width) throw new Error("feature map data has the wrong length");
  return { count, height, width, bytes, scale: encoded.scale.map(Number) };
}

function ensureSize(canvas, width, height) {
  if (canvas.width !== width) canvas.width = width;
  if (canvas.height !== height) canvas.height = height;
}

/**
 * Paint a width × height canvas with putImageData, one pixel at a time: setPixel(data, p, x, y)
 * writes pixel (x, y)'s red, green and blue at data[p], data[p + 1], data[p + 2].
 */
function paint(canvas, width, height, setPixel) {
  ensureSize(canvas, width, height);
  const context = canvas.getContext("2d");
  const image = context.createImageData(width, height);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      const p = (y * width + x) * 4;
      setPixel(image.data, p, x, y);
      image.data[p + 3] = 255;
    }
  }
  context.putImageData(image, 0, 0);
}

/** Write colour `level` (0–255) of a lookup table at data[p..p + 2]. */
function putColour(data, p, table, level) {
  data[p] = table[level * 3];
  data[p + 1] = table[level * 3 + 1];
  data[p + 2] = table[level * 3 + 2];
}

/**
 * Draw map `index` of decoded maps on `canvas`, coloured by value / sharedMax.
 * byte/255*scale[i] is the value, so the colour level is byte * scale[i] / sharedMax.
 */
export function drawMap(canvas, maps, index, sharedMax) {
  const { height, width, bytes, scale } = maps;
  const factor = sharedMax > 0 ? scale[index] / sharedMax : 0;
  const offset = index * width * height;
  paint(canvas, width, height, (data, p, x, y) =>
    putColour(data, p, SEQUENTIAL, Math.round(bytes[offset + y * width + x] * factor)),
  );
}

/** Paint a canvas with the colour of zero (a map with nothing to show yet). */
export function drawBlank(canvas, width, height) {
  ensureSize(canvas, width, height);
  const context = canvas.getContext("2d");
  context.fillStyle = css(tableColour(SEQUENTIAL, 0));
  context.fillRect(0, 0, width, height);
}

/** The 28×28 input (rows of ints 0..255, white ink on black) as grey pixels. */
export function drawInput(canvas, rows) {
  paint(canvas, rows[0].length, rows.length, (data, p, x, y) => data.fill(rows[y][x], p, p + 3));
}

/** A weight's level (0–255) on the diverging scale: weight / absMax, clamped to ±1. */
function divergingLevel(weight, absMax) {
  const t = absMax > 0 ? Math.max(-1, Math.min(1, weight / absMax)) : 0;
  return Math.round((t + 1) * 127.5);
}

/** A square kernel (rows of weights) on the diverging scale, weight / absMax. */
export function drawFilter(canvas, kernel, absMax) {
  paint(canvas, kernel.length, kernel.length, (data, p, x, y) =>
    putColour(data, p, DIVERGING, divergingLevel(kernel[y][x], absMax)),
  );
}

/** The largest |value| in an array of numbers, however nested (rows, kernels, lists of kernels). */
export function largestAbsolute(values) {
  return values.flat(Infinity).reduce((largest, value) => Math.max(largest, Math.abs(value)), 0);
}

/** Colour `level` (0–255) of a lookup table, as [r, g, b]. */
export function tableColour(table, level) {
  return [table[level * 3], table[level * 3 + 1], table[level * 3 + 2]];
}

/** Colour of a weight on the diverging scale, as [r, g, b]. */
export function divergingColour(weight, absMax) {
  return tableColour(DIVERGING, divergingLevel(weight, absMax));
}

function luminance([r, g, b]) {
  const linear = (c) => {
    const v = c / 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
}

/** Black or white text, whichever contrasts more with the background [r, g, b]: at least 4.58:1
 * on any background (black and white cross over at a luminance of 0.18), so small numbers on
 * mid greys stay readable. */
export function readableTextOn(background) {
  const light = luminance(background);
  return 1.05 / (light + 0.05) > (light + 0.05) / 0.05 ? "#ffffff" : "#000000";
}

/** The decoded value of map `index` at (row, col): byte / 255 · scale[index]. */
export function mapValueAt(maps, index, row, col) {
  const byte = maps.bytes[index * maps.width * maps.height + row * maps.width + col];
  return (byte / 255) * maps.scale[index];
}

// Saliency: the input dimmed to dark greys, with orange where a pixel pushes the answer's score
// up and blue where it pushes it down; the colour's strength is |value| / (largest |value|).
const SALIENCY_UP = [255, 153, 0];
const SALIENCY_DOWN = [64, 156, 255];
const SALIENCY_INPUT_LEVEL = 0.25; // the brightest ink shows as 25% grey under the colours

/**
 * Draw the input (rows of ints 0–255) with signed values (same shape) over it.
 * Colour = mix(dimmed input grey, UP or DOWN, |value| / absMax).
 */
export function drawSaliency(canvas, input, values, absMax) {
  paint(canvas, input[0].length, input.length, (data, p, x, y) => {
    const grey = input[y][x] * SALIENCY_INPUT_LEVEL;
    const value = values[y][x];
    const alpha = absMax > 0 ? Math.min(1, Math.abs(value) / absMax) : 0;
    const colour = value >= 0 ? SALIENCY_UP : SALIENCY_DOWN;
    for (let c = 0; c < 3; c += 1) data[p + c] = grey + (colour[c] - grey) * alpha;
  });
}

/** CSS gradient of the saliency scale: full blue (−max) through dark (0) to full orange (+max). */
export function saliencyGradient() {
  return `linear-gradient(to right, ${css(SALIENCY_DOWN)}, rgb(0, 0, 0) 50%, ${css(SALIENCY_UP)})`;
}
