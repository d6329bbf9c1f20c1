"""Pure algorithms: no database, no chat, no clock of their own.

``matching`` pairs mentees with mentors, ``recurrence`` computes when weekly things happen,
``skills`` reads the skills catalogue and scores. Features call them; they call nothing back, so
they are tested as plain functions (``tests/unit``).
"""
