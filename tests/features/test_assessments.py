"""Skills assessments as whole conversations: self, mentor review, final check and the report."""

from __future__ import annotations

import dataclasses
import re

import pytest
from sqlmodel import Session, select

from adapters.console import MemoryAdapter
from chatbot.config import embedded_default
from chatbot.events import Delivery, Form, Outbound
from chatbot.features import assessments as feature
from chatbot.features.assessment_report import render_report, wrapped
from chatbot.domain.skills import load_catalogue, scale_help
from storage.assessments import Assessment, AssessmentRepo, Rating
from storage.tables import Member
from tests.harness import START, Bot

GENERALIST = [s.title for s in load_catalogue().for_focus("Generalist")]
INFRA = [s.title for s in load_catalogue().for_focus("Infrastructure Specialist")]
HOW_TO_RATE = "Rate several at once if you like: in order from the skill asked (2 3 1 0 N/A) or by number (5: 2, 7-9: 1)."


async def answer(bot: Bot, who: str, *answers: str) -> list[str]:
    out: list[str] = []
    for text in answers:
        out = await bot.say(who, text)
    return out


def member_id(bot: Bot, handle: str) -> int:
    with Session(bot.app.database) as s:
        return s.exec(select(Member.id).where(Member.handle == handle)).one()


def scores(bot: Bot, handle: str, kind: str = "self") -> list[dict[str, int | None]]:
    """The answers of each of ``handle``'s assessments of this kind, oldest first."""
    with Session(bot.app.database) as s:
        repo = AssessmentRepo(s)
        rows = s.exec(
            select(Assessment).where(Assessment.member_id == member_id(bot, handle), Assessment.kind == kind).order_by(Assessment.id)
        )
        return [repo.answers(a.id) for a in rows]


# ---------------------------------------------------------------------------- self-assessment


async def test_self_assessment_asks_focus_then_generalist_skills_with_description_and_scale(bot):
    await bot.pair("alice", "bob")
    await bot.say("alice", "!profile set focus Infrastructure Specialist")
    out = await bot.say("alice", "!assess")
    assert len(INFRA) == 21 and INFRA[0] == "Infrastructure & Deployment Practices" and INFRA[-1] in GENERALIST
    lines = out[0].splitlines()
    assert lines[0] == ("Self-assessment for 2027 Q1: 21 skills (Infrastructure Specialist and Generalist). "
                        "Each answer is saved as you go; skip moves on, stop pauses.")
    assert lines[1:22] == [f"{n}. {title}" for n, title in enumerate(INFRA, 1)]
    assert lines[22:] == [
        f"Scale: {scale_help()}.",
        HOW_TO_RATE,
        "(1/21) Infrastructure & Deployment Practices — Ships changes through the deployment pipeline in stages, "
        "watches the rollout and rolls back safely if it breaks.",
    ]
    asked = [re.match(r"\((\d+)/21\) (.+?) — ", lines[-1]).groups()]  # type: ignore[union-attr]
    for n in range(20):
        out = await bot.say("alice", str(n % 4) if n != 5 else "N/A")
        if n < 19:
            assert scale_help() not in out[0]  # the scale was said once, at the start
            asked.append(re.match(r"\((\d+)/21\) (.+?) — ", out[0]).groups())  # type: ignore[union-attr]
    assert [title for _, title in asked] == INFRA[:20] and [int(k) for k, _ in asked] == list(range(1, 21))
    assert "(21/21) Inclusive Mentorship" in bot.dm("alice")[-1]
    out = await bot.say("alice", "3")
    assert out[0] == "Thank you: the self-assessment is complete (21 skills). !assess report shows it."
    assert bot.dm("bob")[-1] == "alice completed a self-assessment: !assess report alice shows it."
    [saved] = scores(bot, "alice")
    assert len(saved) == 21 and saved[INFRA[5]] is None and saved[INFRA[0]] == 0 and saved[INFRA[20]] == 3


async def test_bad_scores_are_asked_again_and_save_nothing(bot):
    await bot.pair()
    await bot.say("alice", "!assess")
    for bad in ("4", "-1", "x"):
        out = await bot.say("alice", bad)
        assert out[0].startswith(f"'{bad}' is not on the scale: answer 0, 1, 2, 3 or N/A (or skip, stop).\n(1/14) {GENERALIST[0]} — ")
    assert scores(bot, "alice") == [{}]
    out = await bot.say("alice", "n/a")
    assert out[0].startswith(f"(2/14) {GENERALIST[1]} — ")
    assert scores(bot, "alice") == [{GENERALIST[0]: None}]


async def test_answering_when_no_assessment_runs(bot):
    await bot.pair()
    for text in ("2", "skip", "stop"):
        out = await bot.say("alice", text)
        assert out == ["I'm not waiting for an answer from you right now. Commands start with !; try !help."]
    await answer(bot, "alice", "!assess", "2", "!cancel")
    assert (await bot.say("alice", "3"))[0].startswith("I'm not waiting for an answer")
    assert scores(bot, "alice") == [{GENERALIST[0]: 2}]


async def test_cancel_keeps_the_answers_and_assess_resumes_at_the_first_unanswered(bot):
    await bot.pair()
    await answer(bot, "alice", "!assess", "1", "2", "3")
    out = await bot.say("alice", "!cancel")
    assert out == ["Paused; every answer you gave is saved. The same !assess command carries on where you stopped."]
    assert scores(bot, "alice") == [{GENERALIST[0]: 1, GENERALIST[1]: 2, GENERALIST[2]: 3}]
    out = await bot.say("alice", "!assess")
    assert out[0].startswith(f"Resuming the self-assessment: 3 of 14 answered, carrying on at skill 4.\n(4/14) {GENERALIST[3]} — ")
    assert len(scores(bot, "alice")) == 1  # the same assessment, not a new one


async def test_skip_moves_on_and_stop_pauses_then_resume_asks_the_skipped_one(bot):
    await bot.pair()
    await answer(bot, "alice", "!assess", "1")
    out = await bot.say("alice", "skip")
    assert out[0].startswith(f"(3/14) {GENERALIST[2]} — ")
    await bot.say("alice", "2")
    out = await bot.say("alice", "Stop.")
    assert out == ["Paused: 2 of 14 answered, all saved. !assess carries on where you stopped."]
    out = await bot.say("alice", "!assess")
    assert f"carrying on at skill 2.\n(2/14) {GENERALIST[1]} — " in out[0]
    out = await bot.say("alice", "0")
    assert out[0].startswith(f"(4/14) {GENERALIST[3]} — ")  # skill 3 was answered already


async def test_skipped_skills_leave_it_unfinished_until_answered(bot):
    await bot.pair()
    await bot.say("alice", "!assess")
    out = await answer(bot, "alice", "skip", "skip", *["1"] * 12)
    assert out == [
        f"That was the last skill. You skipped 2: {GENERALIST[0]}, {GENERALIST[1]}. !assess asks them again when you are ready."
    ]
    assert not any("completed a self-assessment" in text for text in bot.dm("bob"))
    out = await bot.say("alice", "!assess")
    assert f"12 of 14 answered, carrying on at skill 1.\n(1/14) {GENERALIST[0]}" in out[0]
    await bot.say("alice", "2")
    out = await bot.say("alice", "3")
    assert out[0].startswith("Thank you: the self-assessment is complete (14 skills)")
    assert len(scores(bot, "alice")) == 1 and len(scores(bot, "alice")[0]) == 14


async def test_resume_after_a_restart_mid_interview(tmp_path):
    bot = await Bot.start(tmp_path)
    try:
        await bot.pair()
        await answer(bot, "alice", "!assess", "1", "2")
        await bot.restart()
        out = await bot.say("alice", "3")  # the next answer goes on where it was
        assert out[0].startswith(f"(4/14) {GENERALIST[3]} — ")
        await bot.restart()
        out = await bot.say("alice", "!assess")
        assert out[0].startswith(f"Resuming the self-assessment: 3 of 14 answered, carrying on at skill 4.\n(4/14) {GENERALIST[3]}")
        assert scores(bot, "alice") == [{GENERALIST[0]: 1, GENERALIST[1]: 2, GENERALIST[2]: 3}]
    finally:
        await bot.stop()


async def test_a_completed_self_assessment_is_followed_by_a_new_one(bot):
    await bot.pair()
    await answer(bot, "alice", "!assess", *["1"] * 14)
    out = await bot.say("alice", "!assess")
    assert out[0].startswith("Self-assessment for 2027 Q1: 14 skills") and "(1/14)" in out[0]
    assert len(scores(bot, "alice")) == 2


async def test_assess_in_a_channel_asks_in_private(bot):
    await bot.pair()
    await bot.say("alice", "!assess", channel="#general")
    assert bot.channel("#general") == ["alice: I've sent you a private message with a few questions."]
    first = bot.dm("alice")[-1].splitlines()
    assert first[0].startswith("Self-assessment for 2027 Q1: 14 skills") and first[-1].startswith(f"(1/14) {GENERALIST[0]} — ")


async def test_assess_during_another_interview_pauses_it_and_it_carries_on_after(bot):
    """!assess during a check-in was refused, and the scores typed next went into the check-in."""
    await bot.say("you", '!round open "2027 Q1" 2027-01-01 2027-03-31')
    await bot.say("alice", "!profile set focus 3")
    await answer(bot, "alice", "!signup mentee", "Europe/Berlin", "en", "programming", "testing")
    await bot.say("you", "!role grant alice mentee")
    out = (await bot.say("alice", "!assess"))[0].splitlines()
    assert out[0].startswith("Self-assessment for 2027 Q1:")
    assert "I've paused your sign-up; it carries on when this one is done." in out
    out = await bot.say("alice", "stop")
    assert out[0].startswith("Paused: 0 of 14 answered") and "Back to your sign-up:" in out[0]
    out = await bot.say("alice", "Land my first patch in core")
    assert out[0].startswith("You're signed up as a mentee")


async def test_assess_without_a_role_focus_or_a_role(bot):
    await bot.say("carol", "!help")
    assert (await bot.say("carol", "!assess"))[0].startswith("!assess is for mentee or mentor")
    await bot.say("you", "!role grant carol mentor")
    assert await bot.say("carol", "!assess") == ["Set your role focus first, e.g. !profile set focus Generalist."]


async def test_self_assessment_without_an_open_round(bot):
    await bot.pair()
    await bot.say("you", "!round close")
    assert await bot.say("bob", "!assess report") == ["You have no assessment yet. !assess starts one."]
    out = await bot.say("bob", "!assess")
    assert out[0].startswith("Self-assessment: 14 skills (Generalist). Each answer is saved")
    await answer(bot, "bob", "3", "stop")
    out = await bot.say("bob", "!assess report")
    assert out[0].split("\n")[:2] == ["Skills of bob outside rounds (0-3, N/A; self: first→latest):", f"{GENERALIST[0]}: self 3"]
    await bot.say("you", '!round open "2027 Q2" 2027-04-01 2027-06-30')
    assert await bot.say("bob", "!assess report 2027 Q2") == ["You have no assessment in 2027 Q2 yet. !assess starts one."]
    out = await bot.say("bob", "!assess report")  # the latest ratings until the next round runs
    assert out[0].startswith("Skills of bob outside rounds")


# ---------------------------------------------------------------------------- review and final


async def test_mentor_review_is_for_the_mentor_and_co_mentor_only(bot):
    await bot.pair("alice", "bob")
    await bot.pair("dave", "carol")
    assert await bot.say("carol", "!assess review alice") == [
        "You do not mentor alice: only their mentor or co-mentor can assess them."
    ]
    out = await bot.say("carol", "!assess review zed")
    assert out == ["I don't know anyone called 'zed' — usage: !assess review MENTEE"]
    assert (await bot.say("alice", "!assess review dave"))[0].startswith("!assess review is for mentor")
    assert await bot.say("bob", "!assess review bob") == ["To rate your own skills, use !assess."]
    await bot.say("you", "!match comentor alice carol")
    out = await bot.say("carol", "!assess review alice")
    assert out[0].startswith("Mentor review of alice for 2027 Q1: 14 skills") and f"(1/14) alice's {GENERALIST[0]} — " in out[0]
    out = await answer(bot, "carol", *["2"] * 14)
    assert out[0] == "Thank you: the mentor review is complete (14 skills). !assess report alice shows it."
    assert bot.dm("alice")[-1] == "carol completed a mentor review of your skills: !assess report shows it."
    assert scores(bot, "alice", "mentor") == [{t: 2 for t in GENERALIST}]
    assert scores(bot, "alice", "self") == []


async def test_review_uses_the_mentees_focus_and_pauses_a_running_self_assessment(bot):
    await bot.pair()
    await bot.say("alice", "!profile set focus Infrastructure Specialist")
    await answer(bot, "bob", "!assess", "3")
    out = await bot.say("bob", "!assess review alice")
    assert out[0].startswith("Your self-assessment in progress is paused, answers saved. Mentor review of alice for 2027 Q1: 21 skills")
    assert f"(1/21) alice's {INFRA[0]} — " in out[0]
    out = await answer(bot, "bob", "1", "stop")
    assert out == ["Paused: 1 of 21 answered, all saved. !assess review alice carries on where you stopped."]
    out = await bot.say("bob", "!assess")
    assert out[0].startswith(f"Resuming the self-assessment: 1 of 14 answered, carrying on at skill 2.\n(2/14) {GENERALIST[1]}")


async def test_final_check_is_the_lead_mentors_once_per_round(bot):
    await bot.pair("alice", "bob")
    await bot.pair("dave", "carol")
    await bot.say("you", "!match comentor alice carol")
    assert await bot.say("carol", "!assess final alice") == [
        "The final check is for alice's lead mentor (bob); as co-mentor, add a review with !assess review alice."
    ]
    assert await bot.say("carol", "!assess final dave") != []
    assert await bot.say("bob", "!assess final dave") == [
        "You do not mentor dave: only their mentor or co-mentor can assess them."
    ]
    out = await bot.say("bob", "!assess final alice")
    assert f"(1/14) Final check, alice's {GENERALIST[0]} — " in out[0]
    out = await answer(bot, "bob", *["3"] * 14)
    assert out[0] == "Thank you: the final check is complete (14 skills). !assess report alice shows it."
    assert bot.dm("alice")[-1] == "bob completed a final check of your skills: !assess report shows it."
    assert await bot.say("bob", "!assess final alice") == [
        "The final check of alice for 2027 Q1 is done; there is one per round. !assess report alice shows it."
    ]


# ---------------------------------------------------------------------------- the report


async def test_report_shows_self_first_to_latest_mentor_final_and_the_change(bot):
    await bot.pair()
    await bot.say("alice", "!profile set focus Infrastructure Specialist")
    log_at = INFRA.index("Log Interpretation")
    await answer(bot, "alice", "!assess", *["1"] * 21)  # at the start of the round
    await bot.advance("30d")
    await answer(bot, "alice", "!assess", *["2"] * 21)
    await answer(bot, "bob", "!assess review alice", *["2"] * 21)
    await bot.advance("30d")
    finals = ["3"] * 21
    finals[0] = "1"
    finals[1] = "N/A"
    await answer(bot, "bob", "!assess final alice", *finals)
    out = await bot.say("alice", "!assess report")
    lines = out[0].split("\n")
    assert lines[0] == "Skills of alice in 2027 Q1 (0-3, N/A; self: first→latest):"
    assert lines[1 + log_at] == "Log Interpretation: self 1→2, mentor 2, final 3 (+2)"
    assert lines[1] == "Infrastructure & Deployment Practices: self 1→2, mentor 2, final 1"
    assert lines[2] == "Swift Maintenance Operations: self 1→2, mentor 2, final N/A"
    assert lines[-1] == "Since the first self-assessment: 19 up, 0 down, 1 the same."
    assert len([line for line in lines if not line.startswith("  ")]) == 23 and all(len(line) <= 72 for line in lines)
    assert await bot.say("bob", "!assess report alice") == out


async def test_report_early_in_the_round_shows_only_what_exists(bot):
    await bot.pair()
    await answer(bot, "alice", "!assess", "2", "N/A", "stop")
    out = await bot.say("alice", "!assess report")
    lines = out[0].split("\n")
    assert lines[:3] == [
        "Skills of alice in 2027 Q1 (0-3, N/A; self: first→latest):",
        f"{GENERALIST[0]}: self 2",
        f"{GENERALIST[1]}: self N/A",
    ]
    rest = " ".join(line.strip() for line in lines[3:])
    assert rest == "Not rated yet (12): " + ", ".join(GENERALIST[2:]) and all(len(line) <= 72 for line in lines)


async def test_report_is_private_to_the_person_their_mentors_and_coordinators(bot):
    await bot.pair("alice", "bob")
    await bot.pair("dave", "carol")
    await answer(bot, "alice", "!assess", "1", "stop")
    refusal = ["A report is private: you see your own, mentors their mentees', coordinators anyone's."]
    assert await bot.say("alice", "!assess report bob") == refusal
    assert await bot.say("carol", "!assess report alice") == refusal
    assert (await bot.say("bob", "!assess report alice"))[0].startswith("Skills of alice")
    assert await bot.say("dave", "!assess report") == ["You have no assessment in 2027 Q1 yet. !assess starts one."]
    assert await bot.say("bob", "!assess report zed") == ["I don't know anyone called 'zed' — usage: !assess report [MENTEE…]"]
    await bot.say("erin", "!help")
    assert (await bot.say("erin", "!assess report alice"))[0].startswith("!assess report is for mentee, mentor or coordinator")
    await bot.say("you", "!role grant erin coordinator")
    assert (await bot.say("erin", "!assess report alice"))[0].startswith("Skills of alice")
    # about somebody else, in the third person and without the hint to start one
    assert await bot.say("erin", "!assess report dave") == ["No assessment of dave in 2027 Q1 yet."]
    await bot.say("bob", "!assess report alice", channel="#general")
    assert bot.channel("#general") == ["bob: I've sent you the answer in a private message."]  # never the report
    assert bot.dm("bob")[-1].startswith("Skills of alice")


# ---------------------------------------------------------------------------- matchmaking queries


async def test_teachable_and_weak_skills_come_from_the_latest_self_assessment(bot):
    await bot.pair()
    await answer(bot, "bob", "!assess", "3", "2", "1", "0", "N/A", "stop")
    await bot.say("you", "!round close")
    await bot.say("you", '!round open "2027 Q2" 2027-04-01 2027-06-30')
    await answer(bot, "bob", "!assess", "0", "stop")  # a later, partial re-assessment changes one skill
    await answer(bot, "alice", "!assess", "0", "stop")
    with Session(bot.app.database) as s:
        repo = AssessmentRepo(s)
        bob, alice = member_id(bot, "bob"), member_id(bot, "alice")
        assert repo.teachable_skills(bob) == {GENERALIST[1]}
        assert repo.weak_skills(bob) == {GENERALIST[0], GENERALIST[2], GENERALIST[3]}
        assert repo.weak_skills(alice) == {GENERALIST[0]} and repo.teachable_skills(alice) == set()
        assert repo.teachable_skills(10_000) == set() and repo.weak_skills(10_000) == set()


# ---------------------------------------------------------------------------- catalogue and rendering


async def test_a_communitys_own_catalogue_is_loaded_once(tmp_path, monkeypatch):
    csv = tmp_path / "skills.csv"
    csv.write_text(
        "title,stack_area,role_focus,description\n"
        "Rack Cabling,Infra,Infrastructure Specialist,Cables a rack neatly.\n"
        "Kind Words,Community,Generalist,Says thank you.\n"
    )
    raw = embedded_default().model_dump()
    raw["programme"]["skills_file"] = str(csv)
    loads: list[object] = []
    real = feature.load_catalogue
    monkeypatch.setattr(feature, "load_catalogue", lambda path=None: loads.append(path) or real(path))
    feature._load.cache_clear()
    bot = await Bot.start(tmp_path, config=raw)
    try:
        await bot.pair()
        await bot.say("alice", "!profile set focus Infrastructure Specialist")
        out = await bot.say("alice", "!assess")
        assert out[0].endswith(f"Scale: {scale_help()}.\n" + HOW_TO_RATE + "\n(1/2) Rack Cabling — Cables a rack neatly.")
        out = await answer(bot, "alice", "2", "3")
        assert out[0].startswith("Thank you: the self-assessment is complete (2 skills)")
        assert loads == [str(csv)]
    finally:
        await bot.stop()
        feature._load.cache_clear()


def test_long_skill_names_are_wrapped_whole_not_cut():
    """The report cut names: "MediaWiki Architecture…"."""
    line = wrapped("MediaWiki Architecture & Extension Development Lifecycle: self 1→2, mentor 2, final 3 (+2)")
    assert line.splitlines() == ["MediaWiki Architecture & Extension Development Lifecycle: self 1→2,", "  mentor 2, final 3 (+2)"]
    assert wrapped("Log Interpretation: self 1") == "Log Interpretation: self 1"


def test_report_of_a_skill_rated_only_by_the_mentor():
    r = Rating("mentor", "Web Security", 2, 1, START)
    assert render_report("alice", "2027 Q1", ["Web Security"], [r]).split("\n")[1] == "Web Security: self –, mentor 2"


@pytest.mark.parametrize("first,final,shown", [(0, 3, " (+3)"), (3, 1, " (-2)"), (2, 2, "")])
def test_change_is_final_minus_first_self(first, final, shown):
    ratings = [Rating("self", "Web Security", first, 1, START), Rating("final", "Web Security", final, 2, START)]
    line = render_report("a", "R", [], ratings).split("\n")[1]
    assert line == f"Web Security: self {first}, final {final}{shown}"


def test_a_looping_flow_step_repeats_then_hands_on_to_the_next():
    """The flows.py extension assessments rely on: ``again`` loops a step, ``progress`` numbers it."""
    from chatbot.flows import Flow, Step

    async def done(ctx, data):  # pragma: no cover - not reached here
        return ""

    loop = Step("at", lambda c, d: "", lambda c, t, d: 0, again=lambda d: d["at"] < 3, progress=lambda d: (d["at"] + 1, 3))
    flow = Flow("f", (loop, Step("last", lambda c, d: "", lambda c, t, d: 0)), finish=done)
    assert flow.after("at", {"at": 2}) is loop and flow.position("at", {"at": 2}) == (3, 3)
    assert flow.after("at", {"at": 3}).name == "last" and flow.position("last", {"at": 3}) == (2, 2)


# ---------------------------------------------------------------------------- answers that fit chat


async def test_several_scores_in_one_message_in_order_or_by_number(bot):
    """21 questions one at a time; "2 3 1 0 N/A …" was answered "not on the scale"."""
    await bot.pair()
    await bot.say("alice", "!assess")
    out = await bot.say("alice", "2 3 1 0 N/A")
    assert out[0].startswith(f"(6/14) {GENERALIST[5]} — ") and out[0].endswith("\n(Saved 5 scores.)")
    out = await bot.say("alice", "9-14: 2, 7: 0")
    assert out[0].startswith(f"(6/14) {GENERALIST[5]} — ") and out[0].endswith("\n(Saved 7 scores.)")  # skill 6 still waits
    out = await bot.say("alice", "6: 3; 8: 3")
    assert out[0] == "Thank you: the self-assessment is complete (14 skills). !assess report shows it."
    [saved] = scores(bot, "alice")
    assert [saved[s] for s in GENERALIST] == [2, 3, 1, 0, None, 3, 0, 3, 2, 2, 2, 2, 2, 2]


async def test_several_scores_that_do_not_fit_save_nothing_and_say_why(bot):
    await bot.pair()
    await bot.say("alice", "!assess")
    out = await bot.say("alice", "2 3 9")
    assert out[0].startswith("'9' is not on the scale: answer 0, 1, 2, 3 or N/A (or skip, stop).\n(1/14)")
    out = await bot.say("alice", " ".join(["1"] * 15))
    assert out[0].startswith("I read 15 scores, but only 14 skills are left from this one; to rate others, give their numbers")
    out = await bot.say("alice", "15: 2")
    assert out[0].startswith("There is no skill 15 here: the skills are numbered 1 to 14.")
    assert scores(bot, "alice") == [{}]


async def test_a_coordinators_report_offers_the_round(bot):
    """!assess report from a coordinator showed only their own (empty) skills."""
    await bot.pair("alice", "bob")
    await bot.pair("dave", "bob")
    await answer(bot, "alice", "!assess", " ".join(["1"] * 14))
    await answer(bot, "bob", "!assess review alice", "2", "stop")
    out = await bot.say("you", "!assess report")
    assert out[0].splitlines() == [
        "Assessments in 2027 Q1: 2 mentees.",
        "alice: self-assessment done, mentor review under way",
        "dave: no assessment yet",
        "!assess report NAME shows one person's skills.",
    ]


class FormsAdapter(MemoryAdapter):
    """A chat platform with forms (Discord's modals), recording each form it was given."""

    capabilities = dataclasses.replace(MemoryAdapter.capabilities, forms=True)

    def __init__(self) -> None:
        super().__init__("forms")
        self.forms: list[Form] = []

    async def send(self, event: Outbound) -> Delivery:
        if getattr(event, "form", None) is not None:
            self.forms.append(event.form)  # type: ignore[union-attr]
        return await super().send(event)


async def test_where_the_platform_has_forms_skills_come_five_at_a_time_in_a_form(bot):
    """A form on Discord: a modal holds five inputs, so the skills come in groups."""
    forms = await bot.add(FormsAdapter())
    await bot.say("you", '!round open "2027 Q1" 2027-01-01 2027-03-31')
    await bot.say("alice", "!profile set focus 3", platform="forms")
    await bot.say("you", "!role grant alice mentee")
    out = await bot.say("alice", "!assess", platform="forms")
    assert out[1] == "Or rate skills 1-5 in a form (0, 1, 2, 3 or N/A in each box; a blank box is left for later)."
    assert forms.forms[-1] == Form(title="Skills 1-5", questions=tuple(GENERALIST[:5]), label="Rate them in a form", first=1)
    out = await bot.say("alice", "1. 2\n2. 3\n3. -\n4. N/A\n5. 1", platform="forms")  # as the modal sends it back
    assert out[0].startswith(f"(3/14) {GENERALIST[2]} — ")  # the blank one waits
    assert len(forms.forms) == 1  # one skill left before the next answered ones: no form for it
    out = await bot.say("alice", "2", platform="forms")
    assert forms.forms[-1].first == 6 and forms.forms[-1].questions == tuple(GENERALIST[5:10])
    [saved] = scores(bot, "alice")
    assert [saved.get(s, "unrated") for s in GENERALIST[:5]] == [2, 3, 2, None, 1]


async def test_an_assessment_with_nothing_left_to_ask_closes_without_ending_another_interview(bot):
    """Every skill answered already (the catalogue lost the others meanwhile): `!assess` closes
    the assessment; the sign-up the person is in carries on (it used to be ended with it)."""
    await bot.say("you", '!round open "2027 Q1" 2027-01-01 2027-03-31')
    await bot.say("alice", "!profile set focus 3")
    await answer(bot, "alice", "!signup mentee", "Europe/Berlin", "en", "programming", "testing")
    await bot.say("you", "!role grant alice mentee")
    await answer(bot, "alice", "!assess", "1", "2", "3", "stop")  # back to the sign-up
    with Session(bot.app.database) as s:
        (assessment,) = s.exec(select(Assessment).where(Assessment.member_id == member_id(bot, "alice"))).all()
        assessment.skills = list(assessment.skills)[:3]  # a catalogue change: the rest are gone
        s.add(assessment)
        s.commit()
    await bot.say("alice", "!assess")
    out = await bot.say("alice", "Land my first patch in core")
    assert out[0].startswith("You're signed up as a mentee")
