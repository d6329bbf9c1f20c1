"""How free text sits inside a one-line answer (``chatbot.wording.clip``, the one truncation helper)."""

from chatbot.wording import clip


def test_clip_keeps_short_text_and_puts_it_on_one_line():
    assert clip("fix  the\nbuild", 40) == "fix the build"


def test_clip_cuts_long_text_with_an_ellipsis_within_the_limit():
    cut = clip("a" * 100, 20)
    assert cut == "a" * 19 + "…" and len(cut) == 20


def test_clip_of_blank_text_is_empty():
    assert clip(" \n ", 10) == ""
