"""Feedback rounds: on set dates of each round (by default the end of week 2, the midpoint and
the last week), every mentor is asked in private about each of their mentees, and every mentee
about each of their mentors: last contact, how often they meet, progress, anything putting the
pair at risk, anything else. Only coordinators read the answers.

The parts: :mod:`.dates` (when windows fall), :mod:`.answers` (reading and showing answers),
:mod:`.interview` (the questions as an interview), :mod:`.job` (asking, reminding),
:mod:`.alerts` (what coordinators hear of at once), :mod:`.commands`; the tables and queries
are in :mod:`storage.feedback`."""

from __future__ import annotations

from chatbot.commands import Arg, CommandSpec, Example
from chatbot.context import Feature, Job
from chatbot.features.feedback.commands import feedback, feedback_show, feedback_status
from chatbot.features.feedback.interview import FEEDBACK
from chatbot.features.feedback.job import run_feedback
from chatbot.features.matchmaking import PAIRED
from chatbot.features.rounds import ROUND_ARG
from chatbot.i18n import N_

FEATURE = Feature(
    name="feedback",
    commands=(
        CommandSpec(
            ("feedback",),
            N_("give your feedback on your mentorship now, or carry on with it"),
            roles=("mentee", "mentor"),
            handler=feedback,
            private=True,
            as_subcommand="give",
            examples=(Example("alice: !feedback", r"No feedback is due from you now\. The next one \(initial, 2027 Q1\) opens on", setup=PAIRED),),
        ),
        CommandSpec(
            ("feedback", "status"),
            N_("who has given feedback in the latest window, pair by pair"),
            roles=("coordinator",),
            handler=feedback_status,
            args=(ROUND_ARG,),
            private=True,
            examples=(Example("!feedback status", r"No feedback window of 2027 Q1 has opened yet; the first \(initial\) opens on", setup=PAIRED),),
        ),
        CommandSpec(
            ("feedback", "show"),
            N_("the feedback about and from a person's pairs (coordinators only)"),
            roles=("coordinator",),
            handler=feedback_show,
            args=(Arg("person", kind="member", help=N_("a mentor or mentee")), ROUND_ARG),
            private=True,
            examples=(Example("!feedback show alice", r"There is no feedback about alice in 2027 Q1", setup=PAIRED),),
        ),
    ),
    flows=(FEEDBACK,),
    jobs=(Job("feedback", run_feedback),),
    purge=lambda ctx, cutoff: ctx.repos.feedback.purge_before(cutoff),
)
