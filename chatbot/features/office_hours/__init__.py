"""Office hours: hosts run a queue in a channel and people line up for help.

``commands`` holds the visitors' commands and the feature, ``hosting`` the hosts' commands,
``queue`` what they share (guards, opening, closing); ``line`` the pure queue logic; ``schedule`` the
weekly hours and their job; ``report`` the summaries; ``names`` how people are shown in a line;
``leavers`` what happens when someone leaves the channel or the network.
"""
