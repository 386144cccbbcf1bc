"""Uploading an image instead of drawing: the file picker and drag-and-drop."""

from __future__ import annotations

import base64

from harness.browser import blank_paper, photo_of_a_seven
from harness.strokes import SEVEN


def test_uploaded_photo_is_read_through_the_same_pipeline(digit_page, trained_server):
    digit_page.open(trained_server)

    digit_page.by_test_id("upload").set_input_files(
        files=[{"name": "seven.jpg", "mimeType": "image/jpeg", "buffer": photo_of_a_seven()}]
    )

    assert digit_page.wait_for_answer() == "answer"
    assert digit_page.prediction() == "7"
    assert any(digit_page.network_input())
    preview = digit_page.page.locator("#upload-preview")
    assert preview.is_visible()
    assert preview.get_attribute("alt") == "Uploaded image: seven.jpg"


def test_caption_names_the_upload_as_an_image_and_a_drawing_as_a_drawing(digit_page, trained_server):
    page = digit_page.page
    digit_page.open(trained_server)
    assert page.inner_text("#input-source") == "Your drawing"

    digit_page.by_test_id("upload").set_input_files(
        files=[{"name": "seven.jpg", "mimeType": "image/jpeg", "buffer": photo_of_a_seven()}]
    )
    assert digit_page.wait_for_answer() == "answer"
    assert page.inner_text("#input-source") == "Your image"

    digit_page.draw(SEVEN)  # drawing replaces the upload
    assert digit_page.wait_for_answer() == "answer"
    assert page.inner_text("#input-source") == "Your drawing"


def test_clear_after_an_upload_empties_the_answer(digit_page, trained_server):
    digit_page.open(trained_server)
    digit_page.by_test_id("upload").set_input_files(
        files=[{"name": "seven.jpg", "mimeType": "image/jpeg", "buffer": photo_of_a_seven()}]
    )
    digit_page.wait_for_answer()

    digit_page.by_test_id("clear").click()

    assert digit_page.wait_for_answer() == "empty"
    assert digit_page.prediction() == ""
    assert digit_page.page.locator("#upload-preview").is_hidden()


def test_dropped_file_is_read(digit_page, trained_server):
    page = digit_page.page
    digit_page.open(trained_server)
    encoded = base64.b64encode(photo_of_a_seven()).decode()

    transfer = page.evaluate_handle(
        """(encoded) => {
            const bytes = Uint8Array.from(atob(encoded), (c) => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], "dropped.jpg", {type: "image/jpeg"}));
            return transfer;
        }""",
        encoded,
    )
    page.dispatch_event("#drop-zone", "dragenter", {"dataTransfer": transfer})
    assert "dragging" in page.get_attribute("#drop-zone", "class")
    page.dispatch_event("#drop-zone", "drop", {"dataTransfer": transfer})

    assert digit_page.wait_for_answer() == "answer"
    assert digit_page.prediction() == "7"
    assert "dragging" not in page.get_attribute("#drop-zone", "class")


def test_upload_without_a_digit_shows_the_servers_reason(digit_page, trained_server):
    digit_page.open(trained_server)
    digit_page.allow_errors(r"422")

    digit_page.by_test_id("upload").set_input_files(
        files=[{"name": "blank.png", "mimeType": "image/png", "buffer": blank_paper()}]
    )

    assert digit_page.wait_for_answer() == "error"
    error = digit_page.page.locator("#error")
    assert error.is_visible()
    assert "no digit found" in error.inner_text().lower()
    assert digit_page.prediction() == ""
