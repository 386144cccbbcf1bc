// Pixel rendering with putImageData: the network's input, feature maps and filters.
//
// Colour scales (documented on the page next to the legends):
// - Feature maps and pooled maps share ONE range per drawing: colour = value / (largest value in
//   any of the maps), on a dark-to-bright sequential scale (brightness alone carries the value).
// - Filters (weights can be negative) use a diverging scale centred on zero: blue for negative,
//   white for zero, orange-red for positive, with weight / (largest |weight| of the set shown).

/** Anchor colours of a perceptually ordered dark-to-bright scale (close to matplotlib "inferno"). */
const SEQUENTIAL_ANCHORS = [
  [0, 0, 4],
  [40, 11, 84],
  [101, 21, 110],
  [159, 42, 99],
  [212, 72, 66],
  [245, 125, 21],
  [250, 193, 39],
  [252, 255, 164],
];
const DIVERGING_ANCHORS = [
  [33, 102, 172],
  [103, 169, 207],
  [209, 229, 240],
  [247, 247, 247],
  [253, 219, 199],
  [239, 138, 98],
  [178, 24, 43],
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

/** CSS gradient through a table's colours, for the legends. */
export function cssGradient(table, direction = "to right") {
  const stops = [];
  for (let i = 0; i <= 8; i += 1) {
    const k = Math.round((i / 8) * 255) * 3;
    stops.push(`rgb(${table[k]}, ${table[k + 1]}, ${table[k + 2]}) ${i * 12.5}%`);
  }
  return `linear-gradient(${direction}, ${stops.join(", ")})`;
}

/** Bytes of a base64 string. */
export function base64Bytes(text) {
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
 * Draw map `index` of decoded maps on `canvas`, coloured by value / sharedMax.
 * byte/255*scale[i] is the value, so the colour index is byte * scale[i] / sharedMax.
 */
export function drawMap(canvas, maps, index, sharedMax) {
  const { height, width, bytes, scale } = maps;
  ensureSize(canvas, width, height);
  const context = canvas.getContext("2d");
  const image = context.createImageData(width, height);
  const factor = sharedMax > 0 ? scale[index] / sharedMax : 0;
  const offset = index * width * height;
  for (let p = 0; p < width * height; p += 1) {
    const level = Math.round(bytes[offset + p] * factor) * 3;
    image.data[p * 4] = SEQUENTIAL[level];
    image.data[p * 4 + 1] = SEQUENTIAL[level + 1];
    image.data[p * 4 + 2] = SEQUENTIAL[level + 2];
    image.data[p * 4 + 3] = 255;
  }
  context.putImageData(image, 0, 0);
}

/** Paint a canvas with the colour of zero (a map with nothing to show yet). */
export function drawBlank(canvas, width, height) {
  ensureSize(canvas, width, height);
  const context = canvas.getContext("2d");
  context.fillStyle = `rgb(${SEQUENTIAL[0]}, ${SEQUENTIAL[1]}, ${SEQUENTIAL[2]})`;
  context.fillRect(0, 0, width, height);
}

/** The 28×28 input (rows of ints 0..255, white ink on black) as grey pixels. */
export function drawInput(canvas, rows) {
  const height = rows.length;
  const width = rows[0].length;
  ensureSize(canvas, width, height);
  const context = canvas.getContext("2d");
  const image = context.createImageData(width, height);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      const value = rows[y][x];
      const p = (y * width + x) * 4;
      image.data[p] = value;
      image.data[p + 1] = value;
      image.data[p + 2] = value;
      image.data[p + 3] = 255;
    }
  }
  context.putImageData(image, 0, 0);
}

/** A square kernel (rows of weights) on the diverging scale, weight / absMax. */
export function drawFilter(canvas, kernel, absMax) {
  const size = kernel.length;
  ensureSize(canvas, size, size);
  const context = canvas.getContext("2d");
  const image = context.createImageData(size, size);
  for (let y = 0; y < size; y += 1) {
    for (let x = 0; x < size; x += 1) {
      const t = absMax > 0 ? Math.max(-1, Math.min(1, kernel[y][x] / absMax)) : 0;
      const level = Math.round((t + 1) * 127.5) * 3;
      const p = (y * size + x) * 4;
      image.data[p] = DIVERGING[level];
      image.data[p + 1] = DIVERGING[level + 1];
      image.data[p + 2] = DIVERGING[level + 2];
      image.data[p + 3] = 255;
    }
  }
  context.putImageData(image, 0, 0);
}

/** The largest |weight| over a list of kernels. */
export function largestMagnitude(kernels) {
  let largest = 0;
  for (const kernel of kernels) {
    for (const row of kernel) for (const w of row) largest = Math.max(largest, Math.abs(w));
  }
  return largest;
}

/** Colour of a weight on the diverging scale, as [r, g, b]. */
export function divergingColour(weight, absMax) {
  const t = absMax > 0 ? Math.max(-1, Math.min(1, weight / absMax)) : 0;
  const level = Math.round((t + 1) * 127.5) * 3;
  return [DIVERGING[level], DIVERGING[level + 1], DIVERGING[level + 2]];
}

const DARK_TEXT = [27, 33, 48];

function luminance([r, g, b]) {
  const linear = (c) => {
    const v = c / 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
}

/** White or dark text, whichever contrasts more with the background [r, g, b]. */
export function readableTextOn(background) {
  const light = luminance(background);
  const onWhite = 1.05 / (light + 0.05);
  const onDark = (light + 0.05) / (luminance(DARK_TEXT) + 0.05);
  return onWhite > onDark ? "#ffffff" : `rgb(${DARK_TEXT.join(", ")})`;
}

export const css = ([r, g, b]) => `rgb(${r}, ${g}, ${b})`;

/** The decoded value of map `index` at (row, col): byte / 255 · scale[index]. */
export function mapValueAt(maps, index, row, col) {
  const byte = maps.bytes[index * maps.width * maps.height + row * maps.width + col];
  return (byte / 255) * maps.scale[index];
}

// Saliency: the input dimmed to dark greys, with orange where a pixel pushes the answer's score
// up and blue where it pushes it down; the colour's strength is |value| / (largest |value|).
export const SALIENCY_UP = [255, 153, 0];
export const SALIENCY_DOWN = [64, 156, 255];
const SALIENCY_INPUT_LEVEL = 0.25; // the brightest ink shows as 25% grey under the colours

/** The largest |value| over rows of numbers. */
export function largestAbsolute(rows) {
  let largest = 0;
  for (const row of rows) for (const v of row) largest = Math.max(largest, Math.abs(v));
  return largest;
}

/**
 * Draw the input (rows of ints 0–255) with signed values (same shape) over it.
 * Colour = mix(dimmed input grey, UP or DOWN, |value| / absMax).
 */
export function drawSaliency(canvas, input, values, absMax) {
  const height = input.length;
  const width = input[0].length;
  ensureSize(canvas, width, height);
  const context = canvas.getContext("2d");
  const image = context.createImageData(width, height);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      const grey = input[y][x] * SALIENCY_INPUT_LEVEL;
      const value = values[y][x];
      const alpha = absMax > 0 ? Math.min(1, Math.abs(value) / absMax) : 0;
      const colour = value >= 0 ? SALIENCY_UP : SALIENCY_DOWN;
      const p = (y * width + x) * 4;
      for (let c = 0; c < 3; c += 1) image.data[p + c] = grey + (colour[c] - grey) * alpha;
      image.data[p + 3] = 255;
    }
  }
  context.putImageData(image, 0, 0);
}

/** CSS gradient of the saliency scale: full blue (−max) through dark (0) to full orange (+max). */
export function saliencyGradient(direction = "to right") {
  return `linear-gradient(${direction}, ${css(SALIENCY_DOWN)}, rgb(0, 0, 0) 50%, ${css(SALIENCY_UP)})`;
}

/** Black or white text, whichever contrasts more with the background [r, g, b]: at least 4.58:1
 * on any background (black and white cross over at a luminance of 0.18), so small numbers on
 * mid greys stay readable. */
export function blackOrWhiteOn(background) {
  const light = luminance(background);
  return 1.05 / (light + 0.05) > (light + 0.05) / 0.05 ? "#ffffff" : "#000000";
}
