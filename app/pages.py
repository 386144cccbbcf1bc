"""The drawing page: ``GET /`` renders templates/index.html; the favicon lives in static/."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, send_from_directory

bp = Blueprint("pages", __name__)


@bp.get("/")
def index():
    """The page where a person draws a digit and looks inside the network."""
    return render_template("index.html")


@bp.get("/favicon.ico")
def favicon():
    # Browsers ask for /favicon.ico on their own; answer with the SVG the page links to.
    return send_from_directory(current_app.static_folder, "favicon.svg", mimetype="image/svg+xml")
