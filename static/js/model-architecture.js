// The model panel's architecture: each layer's output shape, its size and its weights, from the
// card's layer list (worked out from the layer settings when the card has only the spec).

import { element, missing } from "./helpers.js";

/** Layers of the architecture as [{name, type, shape, weights, note}], or null. */
function architectureLayers(card) {
  const source = card.architecture?.layers ?? card.architecture ?? card.layers;
  if (!Array.isArray(source) || source.length === 0) return null;
  const layers = [];
  const rawInput = card.input?.shape ?? card.architecture?.input_shape;
  const inputShape = Array.isArray(rawInput) ? rawInput.map(Number) : null;
  if (inputShape) layers.push({ name: "input", type: "Input", shape: inputShape, weights: null });
  let previous = inputShape;
  for (const [index, layer] of source.entries()) {
    const raw = layer.output_shape ?? layer.shape ?? null;
    const shape = Array.isArray(raw) ? raw.map(Number) : outputShape(layer, previous);
    layers.push({
      name: String(layer.name ?? `layer ${index + 1}`),
      type: String(layer.type ?? ""),
      shape,
      weights: weightCount(layer, previous),
    });
    previous = shape;
  }
  return layers;
}

/** A layer's output shape worked out from its settings (for a card that only has the spec). */
function outputShape(layer, inputShape) {
  if (!inputShape) return null;
  const [channels, height, width] = inputShape;
  const side = (length) => Math.floor((length + 2 * (layer.pad ?? 0) - layer.size) / (layer.stride ?? 1)) + 1;
  switch (layer.type) {
    case "Convolution":
      return inputShape.length === 3 ? [layer.filters, side(height), side(width)] : null;
    case "MaxPooling":
    case "AveragePooling":
      return inputShape.length === 3 ? [channels, side(height), side(width)] : null;
    case "Affine":
      return [layer.units];
    default:
      return inputShape;
  }
}

/** Weights and biases of a layer, from its settings and the shape it receives (null if none). */
function weightCount(layer, inputShape) {
  const given = Number(layer.parameters ?? layer.params);
  if (Number.isFinite(given)) return given;
  if (!inputShape) return null;
  const inputs = inputShape.reduce((a, b) => a * b, 1);
  if (layer.type === "Convolution" && layer.filters && layer.size) {
    return layer.filters * (inputShape[0] * layer.size * layer.size + 1);
  }
  if (layer.type === "Affine" && layer.units) return layer.units * (inputs + 1);
  return null;
}

function describeLayer(layer) {
  const explanations = {
    Input: "the grey image",
    Convolution: "filters slide over the image",
    Relu: "negatives become zero",
    MaxPooling: "maximum of each block",
    AveragePooling: "average of each block",
    Affine: "all inputs to every unit",
  };
  return explanations[layer.type] ?? layer.type;
}

export function renderArchitecture(container, card) {
  const layers = architectureLayers(card);
  if (!layers) {
    container.append(missing("The architecture"));
    return;
  }
  const sizes = layers.map((layer) => (layer.shape ? layer.shape.reduce((a, b) => a * b, 1) : 0));
  const largest = Math.max(...sizes, 1);
  const list = element("ol", { className: "arch", attrs: { "aria-label": "Layers, from input to output" } });
  for (const [index, layer] of layers.entries()) {
    const values = sizes[index];
    const bar = element("span", { className: "arch-bar", attrs: { "aria-hidden": "true" } }, [
      element("span", { className: "arch-bar-fill" }),
    ]);
    // Square-root scale: 17,280 values and 10 values both stay visible.
    bar.firstChild.style.width = `${Math.max(2, Math.sqrt(values / largest) * 100).toFixed(1)}%`;
    const item = element("li", { className: "arch-layer" }, [
      element("span", { className: "arch-what" }, [
        element("span", { className: "arch-name", text: layer.name }),
        element("span", { className: "arch-type", text: describeLayer(layer) }),
      ]),
      element("span", { className: "arch-data" }, [
        element("span", {
          className: "arch-shape",
          text: layer.shape ? `${layer.shape.join(" × ")}${layer.shape.length > 1 ? ` = ${values.toLocaleString("en")}` : ""}` : "",
        }),
        bar,
      ]),
      element("span", {
        className: "arch-weights",
        text: layer.weights ? `${layer.weights.toLocaleString("en")} weights` : "",
      }),
    ]);
    list.append(item);
  }
  container.append(list);
}
