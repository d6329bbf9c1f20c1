"""Sign-ups, profiles and withdrawal, as whole conversations."""

from __future__ import annotations

from sqlmodel import Session, select

from storage.tables import Conversation, Member, Signup
from tests.harness import Bot

OPEN = '!round open "2027 Q1" 2027-01-01 2027-03-31'
MENTEE_ANSWERS = ["Europe/Berlin", "en, german", "1", "programming", "code review, testing", "Land my first patch in core"]


async def sign_up_mentee(bot: Bot, who: str = "alice") -> None:
    await bot.say(who, "!signup mentee")
    for answer in MENTEE_ANSWERS:
        await bot.say(who, answer)


def signups(bot: Bot) -> list[Signup]:
    with Session(bot.app.database) as s:
        return list(s.exec(select(Signup)))


async def test_signup_without_open_round_says_so(bot):
    out = await bot.say("alice", "!signup mentee")
    assert out == ["No round is open right now. A coordinator opens one with !round open NAME START END."]
    assert signups(bot) == []


async def test_mentee_interview_records_every_answer(bot):
    await bot.say("you", OPEN)
    await sign_up_mentee(bot)
    final = bot.dm("alice")[-1]
    assert "signed up as a mentee for 2027 Q1" in final
    assert "timezone Europe/Berlin; languages English, German; focus MediaWiki Specialist" in final
    [s] = signups(bot)
    assert (s.kind, s.tracks, s.skills, s.goal) == ("mentee", ["programming"], ["code review", "testing"], "Land my first patch in core")
    assert "mentee" in (await bot.say("alice", "!whoami"))[0]


async def test_signup_from_a_channel_moves_to_a_dm(bot):
    await bot.say("you", OPEN)
    out = await bot.say("bob", "!signup mentor", channel="#general")
    assert bot.channel("#general") == ["bob: I've sent you a private message with a few questions."]
    assert "Which timezone" in bot.dm("bob")[-1]
    assert len(out) == 2


async def test_mentor_interview_asks_capacity_not_goal(bot):
    await bot.say("you", OPEN)
    await bot.say("bob", "!signup mentor")
    for answer in ["America/New_York", "en", "generalist", "all", "code review, docs"]:
        await bot.say("bob", answer)
    assert "How many mentees" in bot.dm("bob")[-1]
    await bot.say("bob", "default")
    [s] = signups(bot)
    assert (s.kind, s.capacity, s.tracks, s.goal) == ("mentor", 5, ["programming", "documentation"], None)


async def test_wrong_answers_are_asked_again_and_lose_nothing(bot):
    await bot.say("you", OPEN)
    await bot.say("alice", "!signup mentee")
    out = await bot.say("alice", "Mars/Olympus")
    assert "'Mars/Olympus' is not a timezone I know" in out[0] and "(1/6) Which timezone" in out[0]
    out = await bot.say("alice", "europe/berlin")  # canonical spelling is restored
    assert "(2/6)" in out[0]
    assert "is not a language" in (await bot.say("alice", "klingon!!"))[0]
    await bot.say("alice", "en")
    assert "not one of the role focuses" in (await bot.say("alice", "astronaut"))[0]
    await bot.say("alice", "generalist")
    assert "not one of the tracks" in (await bot.say("alice", "cooking"))[0]
    await bot.say("alice", "documentation")
    await bot.say("alice", "wikitext")
    assert "Say a little more" in (await bot.say("alice", "x"))[0]
    await bot.say("alice", "Write the extension's manual")
    [s] = signups(bot)
    assert s.tracks == ["documentation"] and s.goal == "Write the extension's manual"
    with Session(bot.app.database) as db:
        assert db.exec(select(Member).where(Member.handle == "alice")).one().timezone == "Europe/Berlin"


async def test_restart_in_the_middle_of_an_interview_resumes(bot):
    await bot.say("you", OPEN)
    await bot.say("alice", "!signup mentee")
    for answer in MENTEE_ANSWERS[:3]:
        await bot.say("alice", answer)
    await bot.restart()
    out = await bot.say("alice", MENTEE_ANSWERS[3])
    assert "(5/6)" in out[0]
    for answer in MENTEE_ANSWERS[4:]:
        await bot.say("alice", answer)
    assert len(signups(bot)) == 1


async def test_cancel_leaves_the_interview_and_records_nothing(bot):
    await bot.say("you", OPEN)
    await bot.say("alice", "!signup mentee")
    await bot.say("alice", "Europe/Berlin")
    assert (await bot.say("alice", "!cancel")) == ["Sign-up stopped; nothing was recorded. Start again any time with !signup."]
    assert signups(bot) == []
    out = await bot.say("alice", "en")
    assert "not waiting for an answer" in out[0]


async def test_answering_a_question_never_asked(bot):
    out = await bot.say("alice", "Europe/Berlin")
    assert out == ["I'm not waiting for an answer from you right now. Commands start with !; try !help."]


async def test_signing_up_twice_is_refused_but_other_kind_works(bot):
    await bot.say("you", OPEN)
    await sign_up_mentee(bot)
    assert "signed up as a mentee for 2027 Q1 already" in (await bot.say("alice", "!signup mentee"))[0]
    out = await bot.say("alice", "!signup mentor")
    assert "(1/3) Which tracks do you mentor in?" in out[0]  # timezone, languages, focus are known


async def test_profile_set_each_field_and_bad_values(bot):
    await bot.say("you", OPEN)
    await sign_up_mentee(bot)
    assert "timezone Asia/Kolkata" in (await bot.say("alice", "!profile set timezone Asia/Kolkata"))[0]
    assert "not a timezone" in (await bot.say("alice", "!profile set timezone Nowhere"))[0]
    assert "goal: Ship the parser rewrite" in (await bot.say("alice", "!profile set goal Ship the parser rewrite"))[0]
    assert "capacity belongs to a sign-up: you are not signed up as a mentor" in (await bot.say("alice", "!profile set capacity 3"))[0]
    out = await bot.say("alice", "!profile set colour blue")
    assert out[0].startswith("field must be one of timezone, languages") and "usage: !profile set" in out[0]
    out = await bot.say("alice", "!profile set timezone")
    assert out[0] == "value is missing — usage: !profile set timezone|languages|focus|platform|name|tracks|skills|capacity|goal|language VALUE…"
    assert "accounts on console" in (await bot.say("alice", "!profile set platform discord"))[0]


async def test_profile_of_others_is_for_coordinators(bot):
    await bot.say("you", OPEN)
    await sign_up_mentee(bot)
    assert "own profile" in (await bot.say("bob", "!profile alice"))[0]
    assert "alice: timezone Europe/Berlin" in (await bot.say("you", "!profile alice"))[0]
    assert "I don't know anyone called 'zed'" in (await bot.say("you", "!profile zed"))[0]


async def test_withdraw_needs_confirmation_and_keeps_records(bot):
    await bot.say("you", OPEN)
    await sign_up_mentee(bot)
    assert "Send !withdraw confirm" in (await bot.say("alice", "!withdraw"))[0]
    assert signups(bot)[0].status == "active"
    await bot.say("alice", "!withdraw confirm")
    [s] = signups(bot)
    assert s.status == "withdrawn" and s.withdrawn_at is not None
    assert "roles: member" in (await bot.say("alice", "!whoami"))[0]
    assert "withdrawn already" in (await bot.say("alice", "!withdraw confirm"))[0]
    assert "0 mentees" in (await bot.say("you", "!round status"))[0]


async def test_withdraw_says_what_it_withdraws_you_from_in_plain_words(bot):
    """Signed up for nothing, the question read "This withdraws you as the programme."."""
    assert (await bot.say("alice", "!withdraw"))[0] == (
        "This withdraws you from the programme. Your records are kept, marked withdrawn. Send !withdraw confirm to go ahead."
    )
    await bot.say("you", OPEN)
    await sign_up_mentee(bot)
    assert (await bot.say("alice", "!withdraw"))[0].startswith("This withdraws you as mentee in 2027 Q1. Your records are kept")


async def test_rounds_open_close_status_and_bad_input(bot):
    assert "There has been no round yet" in (await bot.say("alice", "!round status"))[0]
    assert "is for coordinator" in (await bot.say("alice", OPEN))[0]
    assert "end: '2027-02-30' is not a date" in (await bot.say("you", '!round open Q1 2027-01-01 2027-02-30'))[0]
    assert "must end after it starts" in (await bot.say("you", '!round open Q1 2027-03-01 2027-01-01'))[0]
    assert "a quote is not closed" in (await bot.say("you", '!round open "2027 Q1 2027-01-01 2027-03-31'))[0]
    await bot.say("you", OPEN)
    assert "2027 Q1 takes sign-ups until Wed, 31 Mar 2027" in (await bot.say("you", '!round open Q2 2027-04-01 2027-06-30'))[0]
    await sign_up_mentee(bot)
    assert "1 mentee, 0 mentors" in (await bot.say("alice", "!round status"))[0]  # not "1 mentees"
    assert "closed: 1 mentee, 0 pairs ended" in (await bot.say("you", "!round close"))[0]
    assert "called 2027 Q1 already" in (await bot.say("you", OPEN))[0]


async def test_pst_utc_offsets_and_nzst_are_understood_by_asking_which_zone_and_only_iana_names_are_stored(bot):
    """Issue 22: "'PST' is not a timezone name… (did you mean MST?)", "'UTC-8' … (did you mean
    UTC?)", "'NZST' … (did you mean NZ?)", and NZ was stored."""
    await bot.say("you", OPEN)
    await bot.say("alice", "!signup mentee")
    out = await bot.say("alice", "PST")
    assert out[0].startswith(
        "PST is used in several places: which one is yours? America/Los_Angeles, America/Vancouver or America/Tijuana."
    )
    assert "MST" not in out[0] and "(1/6) Which timezone" in out[0]
    out = await bot.say("alice", "UTC+1")
    assert out[0].startswith("UTC+1 is used in several places: which one is yours?") and "Europe/Berlin" in out[0]
    out = await bot.say("alice", "UTC-8")
    assert "America/Los_Angeles" in out[0] and "did you mean UTC" not in out[0]
    out = await bot.say("alice", "America/Vancouver")
    assert "(2/6)" in out[0]
    assert "timezone Pacific/Auckland" in (await bot.say("alice", "!profile set timezone NZST"))[0]
    assert "timezone Pacific/Auckland" in (await bot.say("alice", "!profile set timezone NZ"))[0]
    assert "timezone America/New_York" in (await bot.say("alice", "!profile set timezone new york"))[0]
    with Session(bot.app.database) as db:
        assert db.exec(select(Member).where(Member.handle == "alice")).one().timezone == "America/New_York"


async def test_maori_is_a_language_and_git_is_not_and_names_are_echoed_back(bot):
    """Issue 22: "English, Māori" → "'māori' is not a language I know"; git was accepted."""
    await bot.say("you", OPEN)
    await sign_up_mentee(bot)
    out = await bot.say("alice", "!profile set languages git")
    assert out == ["'git' is not a language I know; write its name (German, Deutsch) or code (de, pt-br)"]
    out = await bot.say("alice", "!profile set languages English, Māori")
    assert "languages English, Māori;" in out[0]
    out = await bot.say("alice", "!profile set languages Deutsch und español, pt-br")
    assert "languages German, Spanish, Portuguese (Brazil);" in out[0]
    with Session(bot.app.database) as db:
        assert db.exec(select(Member).where(Member.handle == "alice")).one().languages == ["de", "es", "pt-br"]


async def test_a_sign_up_started_in_a_room_welcomes_in_the_private_message(bot):
    """Started in a room, the DM began at "(1/6) Which timezone…" without the round or !cancel."""
    await bot.say("you", '!round open "2027 Q1" 2027-01-01 2027-03-31')
    await bot.say("alice", "!signup mentee", channel="#general")
    assert bot.channel("#general") == ["alice: I've sent you a private message with a few questions."]
    first = bot.dm("alice")[-1].splitlines()
    assert first[0] == "Welcome! A few questions to sign you up as a mentee for 2027 Q1 (!cancel stops)."
    assert first[1].startswith("(1/6) Which timezone")


async def test_signing_up_again_mid_interview_goes_on_where_it_was(bot):
    """Sending !signup mentee again mid-interview restarted it at question 1."""
    await bot.say("you", '!round open "2027 Q1" 2027-01-01 2027-03-31')
    await bot.say("alice", "!signup mentee")
    await bot.say("alice", "Europe/Berlin")
    again = (await bot.say("alice", "!signup mentee"))[0].splitlines()
    assert again[0] == "You're in the middle of signing up as a mentee; here is where you were (!cancel stops)."
    assert again[1].startswith("(2/6) Which languages")
    assert (await bot.say("alice", "en"))[0].startswith("(3/6)")


async def test_profile_mid_interview_shows_the_answers_already_given(bot):
    """!profile mid-interview showed "timezone ?; languages ?" for answers already given."""
    await bot.say("you", OPEN)
    await bot.say("alice", "!signup mentee")
    await bot.say("alice", "Europe/Berlin")
    await bot.say("alice", "en, german")
    shown = (await bot.say("alice", "!profile"))[0]
    assert shown.startswith("alice: timezone Europe/Berlin; languages English, German; focus ?")
    # the profile was a command, not an answer: the interview still waits at question 3
    assert (await bot.say("alice", "1"))[0].startswith("(4/6)")


async def test_a_sign_up_put_aside_with_later_carries_on_with_its_answers_kept(bot):
    """!later keeps the answers; the same !signup mentee goes on at the question it stopped at."""
    await bot.say("you", OPEN)
    await bot.say("alice", "!signup mentee")
    await bot.say("alice", "Europe/Berlin")
    await bot.say("alice", "en, german")
    assert await bot.say("alice", "!later") == ["Put aside with your answers so far; !signup mentee carries on where you stopped."]
    assert (await bot.say("alice", "1"))[0].startswith("I'm not waiting for an answer from you right now.")
    again = (await bot.say("alice", "!signup mentee"))[0].splitlines()
    assert again[0] == "You're in the middle of signing up as a mentee; here is where you were (!cancel stops)."
    assert again[1].startswith("(3/6)")
    for answer in MENTEE_ANSWERS[2:]:
        await bot.say("alice", answer)
    [s] = signups(bot)
    assert (s.kind, s.goal) == ("mentee", "Land my first patch in core")
    assert "timezone Europe/Berlin; languages English, German" in bot.dm("alice")[-1]


async def test_a_sign_up_put_aside_keeps_a_profile_change_made_meanwhile(bot):
    await bot.say("you", OPEN)
    await bot.say("alice", "!signup mentee")
    await bot.say("alice", "Europe/Berlin")
    await bot.say("alice", "!later")
    await bot.say("alice", "!profile set timezone Asia/Kolkata")
    assert (await bot.say("alice", "!signup mentee"))[0].splitlines()[1].startswith("(2/6) Which languages")
    for answer in MENTEE_ANSWERS[1:]:
        await bot.say("alice", answer)
    assert "timezone Asia/Kolkata" in bot.dm("alice")[-1]


async def test_a_sign_up_of_the_other_kind_starts_afresh_and_replaces_the_one_put_aside(bot):
    """One interview of a kind waits aside: a mentor sign-up is not the mentee one carried on."""
    await bot.say("you", OPEN)
    await bot.say("alice", "!signup mentee")
    await bot.say("alice", "Europe/Berlin")
    await bot.say("alice", "!later")
    first = (await bot.say("alice", "!signup mentor"))[0].splitlines()
    assert first[0].startswith("Welcome! A few questions to sign you up as a mentor")
    assert first[1].startswith("(1/6) Which timezone")
