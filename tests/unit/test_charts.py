"""The hand-written SVG charts: what they draw carries its numbers, hostile text stays text,
gaps stay gaps, and the PNG for chat is the same drawing."""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ET

from chatbot.dashboard.charts import Series, bar_chart, heat_map, line_chart, png

SVG = "{http://www.w3.org/2000/svg}"


def values(svg: str) -> dict[tuple[str, str], str]:
    root = ET.fromstring(svg)
    return {(e.get("data-series"), e.get("data-label")): e.get("data-value") for e in root.iter() if e.get("data-value")}


def test_a_line_with_a_gap_draws_no_point_and_breaks_there():
    svg = line_chart("Answers", ["a", "b", "c", "d"], [Series("rate", (50.0, None, 75.5, 80.0))], y_max=100, unit="%")
    assert values(svg) == {("rate", "a"): "50", ("rate", "c"): "75.5", ("rate", "d"): "80"}
    lines = [e for e in ET.fromstring(svg).iter(SVG + "polyline")]
    assert [len(e.get("points").split()) for e in lines] == [2]  # c-d joined; a alone, not joined across the gap


def test_hostile_names_stay_text_in_titles_labels_and_legends():
    evil = '<script>alert(1)</script> & "x"'
    for svg, label in ((bar_chart(evil, [evil], [Series(evil, (1.0,))]), evil),
                       (heat_map(evil, [evil], ["00"], [[2]]), "00")):
        root = ET.fromstring(svg)  # well-formed XML: nothing broke out of its attribute or element
        assert not [e for e in root.iter() if e.tag.endswith("script")]
        assert values(svg) == {(evil, label): "1" if label == evil else "2"}  # read back as the very text
        assert evil in [e.text for e in root.iter(SVG + "text")]  # the title, as text


def test_no_data_says_so_instead_of_an_empty_frame():
    assert "No data yet" in line_chart("Waits", [], [])
    assert "No data yet" in bar_chart("Sessions", ["w1"], [Series("sessions", (None,))])
    assert "No data yet" in heat_map("Busiest", ["Mon"], ["00"], [[0]])


def test_the_png_for_chat_is_the_drawing_at_twice_its_size():
    data = png(bar_chart("Skills", ["git"], [Series("self", (2.0,))], y_max=3))
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk
    assert (width, height) == (1440, 680)


def test_a_change_below_zero_is_a_bar_down_from_the_zero_line():
    svg = bar_chart("Change", ["git", "docs"], [Series("change", (1.5, -0.5))])
    bars = {e.get("data-label"): e for e in ET.fromstring(svg).iter(SVG + "rect") if e.get("data-value")}
    up, down = bars["git"], bars["docs"]
    zero = float(up.get("y")) + float(up.get("height"))  # the foot of a bar above zero
    assert float(down.get("y")) == zero and float(down.get("height")) > 0
    ticks = [e.text for e in ET.fromstring(svg).iter(SVG + "text")]
    assert "0" in ticks and "-0.8" in ticks and "1.6" in ticks  # round steps through zero
