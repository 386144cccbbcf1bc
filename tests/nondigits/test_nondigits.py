"""The committed weights and verdict rule on the non-digit set, real-world digits and MNIST test."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from harness.ci import skip_or_fail
from harness.nondigits import evaluation, samples
from model import checkpoint


@pytest.fixture(scope="module")
def nondigits():
    return samples.generate()


def test_the_set_has_every_kind_on_both_canvases_and_is_seeded(nondigits):
    assert {s.kind for s in nondigits} == set(samples.KINDS)
    drawn = [s for s in nondigits if not s.kind.endswith("_typed")]
    modes = {Image.open(io.BytesIO(s.data)).mode for s in drawn}
    assert modes == {"RGBA", "RGB"}
    again = samples.generate()
    assert [s.data for s in again[:50]] == [s.data for s in nondigits[:50]]
    assert [s.data for s in samples.generate(seed=1)[:50]] != [s.data for s in nondigits[:50]]


def test_the_typed_kinds_use_the_liberation_fonts_the_training_outliers_do_not():
    if not samples.liberation_fonts():
        skip_or_fail("no Liberation fonts installed (apt-get install fonts-liberation)")
    assert all("Liberation" in p.name for p in samples.liberation_fonts())


def test_a_tally_counts_each_verdict_and_the_refused(tiny_weights):
    judge = evaluation.Judge(tiny_weights)
    blank = io.BytesIO()
    Image.new("RGB", (50, 50), "white").save(blank, "PNG")
    tally = judge.tally("mixed", [s.data for s in samples.generate()[:6]] + [blank.getvalue()])
    assert tally.images == 7 and tally.refused == 1
    assert tally.digit + tally.unsure + tally.not_a_digit == 6
    assert tally.flagged == pytest.approx(1 - tally.digit / 7)


@pytest.mark.mnist
@pytest.mark.slow
def test_the_committed_verdicts_reach_the_targets(nondigits, mnist_dir):
    """Non-digits flagged ≥ 80%, real-world digits accepted ≥ 97%, MNIST test accepted ≥ 99%."""
    import harness.realworld as realworld
    from model import mnist

    if not checkpoint.DEFAULT_WEIGHTS.is_file():
        skip_or_fail(f"no committed weights at {checkpoint.DEFAULT_WEIGHTS}")
    judge = evaluation.Judge()
    kinds = [judge.tally(kind, data) for kind, data in evaluation.by_kind(nondigits).items()]
    data = mnist.load_mnist(mnist_dir)
    real = realworld.generate(data.test_images, data.test_labels)
    digits = [judge.tally(kind, uploads) for kind, uploads in evaluation.by_kind(real).items()]
    flagged = evaluation.total("all", kinds).flagged
    accepted = evaluation.total("all", digits).accepted
    mnist_accepted = judge.mnist_tally(data.test_images).accepted
    report = "\n" + evaluation.table(kinds, "flagged") + "\n" + evaluation.table(digits, "accepted")
    assert flagged >= evaluation.TARGETS["nondigits_flagged"], report
    assert accepted >= evaluation.TARGETS["realworld_accepted"], report
    assert mnist_accepted >= evaluation.TARGETS["mnist_accepted"]
    # No kind of non-digit is mostly taken for digits.
    assert min(t.flagged for t in kinds) >= 0.5, report
    assert np.isfinite([flagged, accepted, mnist_accepted]).all()
