"""Re-evaluate saved weights on MNIST: the model card's measures, the misread test digits and, on
request, a fresh verdict rule.

    python -m model.evaluate --data-dir ../shared/data/mnist [--weights W] [--fit-verdict]

Rewrites the model card's test accuracy, confusion matrix and filters (``measure``, as training
writes them) and writes ``<weights>.misread.json`` beside the weights: {"count": N, "digits": [{"index",
"label", "predicted", "pixels": 28 rows × 28 ints 0–255, 255 = ink}]}, every MNIST test
digit the network reads wrong (N is the off-diagonal sum of the card's confusion matrix).
With ``--fit-verdict`` it also fits the verdict rule (``model.verdict``) on the training
digits, calibrates its limits on the held-out ones and saves it into the weights file.
``model.train`` does both at the end of a run.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from model import checkpoint, mnist, outliers, verdict
from model.checkpoint import misread_path
from model.network import FILTERS_LAYER, HIDDEN_LAYER, Network
from model.sample import to_network_input  # with the shipped sample, which the served image reads

#: Digits calibrated on when the weights' card names no held-out validation set.
FALLBACK_CALIBRATION = 5000
#: Non-digit images that choose how the verdict's novelty share is split between its two scores.
CALIBRATION_OUTLIERS = 2000


def probabilities_and_hidden(network: Network, images: np.ndarray):
    """(probabilities (N, 10), hidden (N, 100) relu2 output) for images (N, 1, 28, 28)."""
    probabilities, kept = network.predict(images, keep=(HIDDEN_LAYER,))
    return probabilities, kept[HIDDEN_LAYER]


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, classes: int = 10) -> np.ndarray:
    """counts[true, predicted] (classes, classes)."""
    counts = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(counts, (labels.astype(np.intp), predictions.astype(np.intp)), 1)
    return counts


def filters_of(network: Network) -> list:
    """The first convolution's filters as nested lists (FN, FH, FW) for the model card."""
    return np.round(network.params[f"{FILTERS_LAYER}.W"][:, 0], 6).tolist()


FILTER_FIGURES = (
    "Means over the filters. correlation_with_start: Pearson correlation of each trained filter with its "
    "start. neighbour_correlation: Pearson correlation, within each trained filter, between every weight and "
    "its right-hand and lower neighbours (all adjacent pairs of the filter together)."
)


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two arrays' values, in the order they are stored."""
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def filter_figures(before, after) -> dict:
    """How much the filters (FN, FH, FW) learned, the two figures of FILTER_FIGURES: a correlation
    with the start near 1 means training barely moved them; a neighbour correlation (over the
    2·FH·(FW−1) adjacent pairs of a square filter) near 0 means noise, higher means smooth strokes,
    edges and blobs."""
    before, after = np.asarray(before, dtype=np.float64), np.asarray(after, dtype=np.float64)
    neighbours = []
    for w in after:
        first = np.concatenate([w[:, :-1].ravel(), w[:-1, :].ravel()])
        second = np.concatenate([w[:, 1:].ravel(), w[1:, :].ravel()])
        neighbours.append(_correlation(first, second))
    starts = [_correlation(a, b) for a, b in zip(after, before, strict=True)]
    return {
        "correlation_with_start": round(float(np.mean(starts)), 4),
        "neighbour_correlation": round(float(np.mean(neighbours)), 4),
    }


def measure(card: dict, network: Network, labels: np.ndarray, predictions: np.ndarray) -> None:
    """Write into the model card what the weights are now: their accuracy and confusion matrix from
    their predictions (N,) of the MNIST test labels (N,), and the first convolution's filters, trained
    and from their start (the card's "before"), with their biases (FN,): the page's receptive field
    adds a filter's bias to its products to reach the map value."""
    card["test_accuracy"] = float((predictions == labels).mean())
    card["test_images"] = len(labels)
    card["confusion_matrix"] = confusion_matrix(labels, predictions).tolist()
    before, after = card["filters"]["before"], filters_of(network)
    card["filters"] = {
        "layer": FILTERS_LAYER, "before": before, "after": after,
        "bias": [float(f"{b:.6g}") for b in network.params[f"{FILTERS_LAYER}.b"].tolist()],
        **filter_figures(before, after), "figures": FILTER_FIGURES,
    }


def misread_digits(images: np.ndarray, labels: np.ndarray, predictions: np.ndarray) -> dict:
    """The misread-digits document for uint8 test images (N, 28, 28), their labels and predictions (N,)."""
    wrong = np.flatnonzero(predictions != labels)
    return {
        "count": len(wrong),
        "digits": [
            {"index": int(i), "label": int(labels[i]), "predicted": int(predictions[i]),
             "pixels": images[i].astype(int).tolist()}
            for i in wrong
        ],
    }


def write_misread(path: str | Path, document: dict) -> None:
    """One digit per line, so a change of weights shows as a readable diff."""
    lines = [json.dumps(d, separators=(",", ":")) for d in document["digits"]]
    Path(path).write_text(f'{{"count": {document["count"]}, "digits": [\n' + ",\n".join(lines) + "\n]}\n")


def calibration_outliers(seed: int) -> np.ndarray:
    """Non-digit images (model.outliers) drawn from their own stream of the training seed: not
    the ones trained on, and not the non-digit test set of harness/nondigits."""
    return outliers.generate(CALIBRATION_OUTLIERS, np.random.default_rng([seed, 2]))


def fit_verdict_rule(network: Network, train_images, train_labels, held_out_images, held_out: bool,
                     outlier_images=None, **calibration) -> verdict.VerdictRule:
    """Class statistics of the hidden layer on the training digits (float, (N, 1, 28, 28)),
    limits on ``held_out_images`` (really held out from training when ``held_out``) and, if
    given, ``outlier_images`` (see ``verdict.calibrate``)."""
    _, hidden = probabilities_and_hidden(network, train_images)
    means, precision = verdict.fit_class_statistics(hidden, train_labels)
    rule = verdict.VerdictRule(means, precision)
    probabilities, hidden = probabilities_and_hidden(network, held_out_images)
    outlier_probabilities = outlier_hidden = None
    if outlier_images is not None:
        outlier_probabilities, outlier_hidden = probabilities_and_hidden(network, outlier_images)
    verdict.calibrate(rule, probabilities, hidden, outlier_probabilities, outlier_hidden, **calibration)
    accepted = float((rule.labels(probabilities, hidden) == "digit").mean())
    rule.fitted = {
        **rule.fitted,
        "statistics_on": f"{len(train_images)} MNIST training digits",
        "limits_on": f"{len(held_out_images)} MNIST training digits "
        + ("held out from training" if held_out else "(seen in training: these weights held none out)"),
        "accepted_there": round(accepted, 4),
    }
    return rule


def split_for_verdict(data: mnist.Mnist, validation: int):
    """(fit images, fit labels, calibration images, held out?) from MNIST's training set: the last
    ``validation`` images were held out from training; with none, the last few thousand stand in."""
    images, labels = to_network_input(data.train_images), data.train_labels.astype(np.intp)
    if validation:
        return images[:-validation], labels[:-validation], images[-validation:], True
    return images, labels, images[-FALLBACK_CALIBRATION:], False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m model.evaluate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", help="folder with the four MNIST IDX files (default: $MNIST_DIR)")
    parser.add_argument("--weights", default=str(checkpoint.DEFAULT_WEIGHTS), help="weights file (.npz)")
    parser.add_argument("--fit-verdict", action="store_true", help="fit the verdict rule and save it")
    args = parser.parse_args(argv)
    try:
        network = checkpoint.load(args.weights)
        card = checkpoint.load_card(args.weights)
        data = mnist.load_mnist(mnist.resolve_data_dir(args.data_dir))
    except (checkpoint.CheckpointError, mnist.MnistError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    test_images = to_network_input(data.test_images)
    probabilities, hidden = probabilities_and_hidden(network, test_images)
    predictions = probabilities.argmax(axis=1)
    document = misread_digits(data.test_images, data.test_labels, predictions)
    write_misread(misread_path(args.weights), document)
    print(f"test accuracy {(predictions == data.test_labels).mean():.4f}; "
          f"{document['count']} misread digits in {misread_path(args.weights)}")
    if "filters" in card:  # written by training
        measure(card, network, data.test_labels, predictions)
        checkpoint.save_card(args.weights, card)
    if args.fit_verdict:
        validation = int(card.get("training", {}).get("validation_images", 0))
        seed = int(card.get("training", {}).get("seed", 0))
        rule = fit_verdict_rule(
            network, *split_for_verdict(data, validation), outlier_images=calibration_outliers(seed)
        )
        checkpoint.save(args.weights, network, {**card, "format": checkpoint.FORMAT}, verdict_rule=rule)
        print(f"verdict rule saved in {args.weights}: {json.dumps(rule.describe(), indent=1)}")
    else:
        try:
            rule = checkpoint.load_verdict_rule(args.weights)
        except checkpoint.CheckpointError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    accepted = (rule.labels(probabilities, hidden) == "digit").mean()
    print(f"MNIST test digits judged 'digit': {accepted:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
