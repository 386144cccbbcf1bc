"""Helpers shared by tests/ and bench/: gunicorn started as the image starts it (``serving``),
requests with known answers (``probes``), HTTP clients (``clients``), the page's digit strokes
(``strokes``), image files (``images``), the drawn digits of the preprocessing tests
(``drawings``), a file straight to its network input (``preprocessing``), the real-world image
set (``realworld``) and the like, one module per thing.

tests/ and bench/ never import each other; what both need lives here. The app (app/) and the
network (model/) never import this package: it is not part of the service or the Docker image.
"""
