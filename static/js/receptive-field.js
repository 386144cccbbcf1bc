// Where one feature-map number comes from: the filter's weights times the 5×5 patch of the
// input under it, summed, plus the filter's bias (the convolution); ReLU then keeps it or makes
// it 0; for a pooled pixel, the largest of the 2×2 block of map pixels it covers.
//
// The page recomputes the value from the 28×28 input it received (rounded to 256 grey levels)
// and the model card's weights; the maps themselves arrive quantised to 256 levels per map, so
// the recomputed value and the map's pixel agree to within that rounding, not to the last digit.

/**
 * The convolution at one output position, worked out in full.
 * @param {number[][]} input 28 rows of ints 0–255 (255 = full ink), read as value / 255
 * @param {number[][]} kernel FH rows of FW weights
 * @param {number|null} bias the filter's bias, null when the model card does not give it
 * @param {{row: number, col: number, stride?: number, pad?: number}} where output position
 * @returns {{row, col, top, left, pixels: number[][], products: number[][], sum: number,
 *            bias: number|null, value: number, relu: number}} value = sum + bias (before ReLU)
 */
export function convolutionAt(input, kernel, bias, { row, col, stride = 1, pad = 0 }) {
  const top = row * stride - pad;
  const left = col * stride - pad;
  const pixels = [];
  const products = [];
  let sum = 0;
  for (const [i, weights] of kernel.entries()) {
    const pixelRow = [];
    const productRow = [];
    for (const [j, weight] of weights.entries()) {
      const y = top + i;
      const x = left + j;
      const inside = y >= 0 && y < input.length && x >= 0 && x < input[0].length;
      const pixel = inside ? input[y][x] / 255 : 0; // zero padding outside the image
      pixelRow.push(pixel);
      productRow.push(weight * pixel);
      sum += weight * pixel;
    }
    pixels.push(pixelRow);
    products.push(productRow);
  }
  const value = sum + (bias ?? 0);
  return { row, col, top, left, pixels, products, sum, bias, value, relu: Math.max(0, value) };
}

/**
 * Max pooling at one pooled position: the block of map pixels it covers and the one it kept.
 * @param {(row: number, col: number) => number} mapValue the map after ReLU at (row, col)
 * @param {{row: number, col: number, size?: number, stride?: number}} where pooled position
 * @returns {{block: {row, col, value}[][], winner: {row, col, value}}} the first largest wins,
 *          as NumPy's argmax does (an all-zero block keeps its top-left pixel)
 */
export function poolingAt(mapValue, { row, col, size = 2, stride = 2 }) {
  const block = [];
  let winner = null;
  for (let i = 0; i < size; i += 1) {
    const line = [];
    for (let j = 0; j < size; j += 1) {
      const cell = { row: row * stride + i, col: col * stride + j };
      cell.value = mapValue(cell.row, cell.col);
      if (!winner || cell.value > winner.value) winner = cell;
      line.push(cell);
    }
    block.push(line);
  }
  return { block, winner };
}

/** The convolution and pooling geometry from the model card's architecture (defaults: 5×5, 2×2). */
export function geometryOf(architecture) {
  const layers = Array.isArray(architecture) ? architecture : [];
  const conv = layers.find((layer) => layer.type === "Convolution") ?? {};
  const pool = layers.find((layer) => layer.type === "MaxPooling") ?? {};
  return {
    stride: conv.stride ?? 1,
    pad: conv.pad ?? 0,
    poolSize: pool.size ?? 2,
    poolStride: pool.stride ?? pool.size ?? 2,
  };
}
