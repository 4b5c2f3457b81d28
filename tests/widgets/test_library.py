"""The library widget against a real engine: across projects, search, picks and uploads of
references (checked for type and size, nothing kept from a refused one)."""

from __future__ import annotations

import io

from PIL import Image

from studio.ui import Library
from studio.ui._library import MAX_UPLOAD_BYTES
from tests.widgets.conftest import Board, browser, png, until


def test_it_browses_every_project_and_searches(painted: Board) -> None:
    other = painted.ask(lambda c: c.create_project("Summer Tape"))
    painted.ask(lambda c: c.add_character(other.id, name="Red Car", description="a red car"))
    w = Library()
    kinds = {i["kind"] for i in w.items}
    assert {"character", "mood", "image"} <= kinds
    assert {i["project_name"] for i in w.items} == {"Night Drive", "Summer Tape"}
    w.query = "red car"
    until(lambda: [i["name"] for i in w.items] == ["Red Car"], what="the search")
    browser(w, action="search", q="", kind="mood")
    until(lambda: w.items and all(i["kind"] == "mood" for i in w.items))
    assert len(w.items) == 4


def test_a_picture_picked_as_a_characters_reference(painted: Board) -> None:
    lead = painted.ask(lambda c: c.add_character(painted.project_id, name="Lead"))
    w = Library(painted.project_id)
    assert [c["name"] for c in w.characters] == ["Lead"]
    picture = next(i for i in w.items if i["kind"] == "image")
    browser(w, action="pick", item=picture["id"], character=lead.id)
    assert not w.error
    found = painted.ask(lambda c: c.characters(painted.project_id))[0]
    assert found.reference_assets == [picture["sha256"]]


def test_an_upload_becomes_a_new_characters_reference(painted: Board) -> None:
    w = Library(painted.project_id)
    browser(w, [png((200, 0, 0))], action="upload", character="", name="Red Car")
    assert not w.error
    [car] = painted.ask(lambda c: c.characters(painted.project_id))
    assert car.name == "Red Car" and len(car.reference_assets) == 1
    data, media_type = painted.ask(lambda c: c.asset(car.reference_assets[0]))
    assert media_type == "image/png" and data == png((200, 0, 0))


def gif() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, "GIF")
    return out.getvalue()


def test_bad_uploads_are_refused_and_nothing_is_kept(painted: Board) -> None:
    w = Library(painted.project_id)
    for data, says in [
        (b"not a picture at all", "not a picture that can be read"),
        (gif(), "GIF is not a picture the studio takes"),
        (b"\x89PNG" + bytes(MAX_UPLOAD_BYTES), "the most is 20 MB"),
        (png((1, 2, 3))[:40], "not a picture that can be read"),  # cut short
    ]:
        browser(w, [data], action="upload", character="", name="Junk")
        assert says in w.error, w.error
    browser(w, [png((9, 9, 9))], action="upload", character="", name="  ")
    assert "name the new character" in w.error
    assert painted.ask(lambda c: c.characters(painted.project_id)) == []
    browser(w, action="pick", item="tk_nope", character="chr_nope")
    assert "pick a picture shown" in w.error
