"""Helpers shared by tests/ and bench/: the gunicorn harness, HTTP clients, canvas strokes and
the real-world image generator.

tests/ and bench/ never import each other; what both need lives here. The app (app/) and the
network (model/) never import this package: it is not part of the service or the Docker image.
"""
