"""Helpers shared by tests/ and bench/, one module per thing — the one home for helpers: a test
module imports helpers from here, never from another test module or a conftest (conftest files
hold fixtures only).

- Servers and clients: gunicorn started as the image starts it (``serving``, ``process``), nginx
  in front (``proxy``), HTTP clients (``clients``, ``slow_clients``), requests with known answers
  (``probes``), the hostile request corpus (``hostile``).
- Images: the page's digit strokes (``strokes``), image files (``images``, ``pictures``), the
  drawn digits of the preprocessing tests (``drawings``), a file straight to its network input
  (``preprocessing``), feature-map blocks decoded (``feature_maps``).
- Generated sets: real-world digits (``realworld``), non-digits (``nondigits``), awkward drawings
  (``awkward_drawings``).
- Tests' shared checks: CI's skip-or-fail rule (``ci``), API checks (``api_checks``), a tiny
  network, its verdict rule and training replay (``networks``, ``tiny_model``), gradient checks
  (``gradients``), the page in Chromium (``browser``, ``page_predictions``, ``replay_page``).
- ``python -m harness.setup``: what the tests need besides requirements-dev.txt.

tests/ and bench/ never import each other; what both need lives here. The app (app/) and the
network (model/) never import this package: it is not part of the service or the Docker image.
"""
