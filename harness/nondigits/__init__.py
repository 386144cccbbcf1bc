"""The non-digit set and what the verdict rule makes of it, beside real digits.

``python -m harness.nondigits --report`` generates the set (``samples``), sends every image
through the app's preprocessing and the committed weights' network and verdict rule
(``evaluation``), and prints the share flagged per kind (verdict "unsure" or "not_a_digit",
or no digit found); then the share of real digits accepted as "digit" per kind of the
real-world set (``harness.realworld``) and on the MNIST test set. ``tests/nondigits`` asserts
the targets (``evaluation.TARGETS``) on the committed weights.
"""
