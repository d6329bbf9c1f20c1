"""Feature modules. Each exports ``FEATURE``; :func:`all_features` is what the bot runs."""

from __future__ import annotations

from chatbot.context import Feature


def all_features() -> list[Feature]:
    from chatbot.features import assessments
    from chatbot.features import checkins
    from chatbot.features import office_hours
    from chatbot.features import away, goals, sessions
    from chatbot.features import core, dashboard, matchmaking, privacy, rounds, signup, status
    from chatbot.features import round_export, round_overview

    return [
        core.FEATURE,
        rounds.FEATURE,
        signup.FEATURE,
        matchmaking.FEATURE,
        checkins.FEATURE,
        goals.FEATURE,
        sessions.FEATURE,
        away.FEATURE,
        assessments.FEATURE,
        office_hours.FEATURE,
        privacy.FEATURE,
        status.FEATURE,
        dashboard.FEATURE,
        round_overview.FEATURE,
        round_export.FEATURE,
    ]
