"""Check-ins: the mentee's twice-weekly questions and what mentors see of the answers.

``commands`` holds the ``!checkin``/``!checkins`` commands and the feature; ``prompts`` the
scheduled job that asks, reminds and marks missed; ``answers`` records and formats answers;
``schedule`` the pure when-is-the-next-one logic.
"""
