"""The read-only web dashboard: the programme at a glance, as pictures.

``server`` serves it from the bot's own event loop (aiohttp), ``auth`` signs people in with
one-time links and signed cookies, ``views`` gathers each page's data through ``storage.reports``
and checks who may see it, ``figures`` turns rows into charts and CSV, ``charts`` draws SVG.
"""
