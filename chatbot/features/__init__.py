"""Feature modules. Each exports ``FEATURE``; :func:`all_features` is what the bot runs."""

from __future__ import annotations

from chatbot.context import Feature


def all_features() -> list[Feature]:
    from chatbot.features import assessments
    from chatbot.features import feedback
    from chatbot.features.checkins import commands as checkins
    from chatbot.features.office_hours import commands as office_hours
    from chatbot.features import certificates, outcomes
    from chatbot.features import away, goals, sessions
    from chatbot.features import core, dashboard, matchmaking, mentee_list, privacy, round_close, rounds, signup, status, waiting_list
    from chatbot.features import round_export, round_overview

    return [
        core.FEATURE,
        rounds.FEATURE,
        round_close.FEATURE,
        signup.FEATURE,
        matchmaking.FEATURE,
        waiting_list.FEATURE,
        mentee_list.FEATURE,
        checkins.FEATURE,
        feedback.FEATURE,
        goals.FEATURE,
        sessions.FEATURE,
        away.FEATURE,
        assessments.FEATURE,
        office_hours.FEATURE,
        privacy.FEATURE,
        status.FEATURE,
        dashboard.FEATURE,
        outcomes.FEATURE,
        certificates.FEATURE,
        round_overview.FEATURE,
        round_export.FEATURE,
    ]
