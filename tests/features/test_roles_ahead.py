"""Roles given ahead of time: a coordinator names the platform account of somebody the bot has
not met; the role waits, shows in ``!role list``, can be taken back, and applies the moment
that account first writes."""

from __future__ import annotations


async def test_a_role_given_ahead_applies_when_the_account_first_speaks(bot):
    out = await bot.say("you", "!role grant irc:carol coordinator")
    assert out == ["irc:carol has not written to me yet: they will be coordinator as soon as they do."]
    assert "already has the coordinator role waiting" in (await bot.say("you", "!role grant irc:Carol coordinator"))[0]
    assert (await bot.say("you", "!role list coordinator")) == [
        "Nobody has the coordinator role.\nWaiting for their first message: irc:carol"]
    # somebody else called carol, on another platform, is not carol's IRC account
    assert "is for coordinator" in (await bot.say("carol", '!round open "2027 Q1" 2027-01-01 2027-03-31'))[0]
    out = await bot.say("carol", '!round open "2027 Q1" 2027-01-01 2027-03-31', platform="irc")
    assert out[0].startswith("Round 2027 Q1 is open: it runs Fri, 1 Jan 2027 → Wed, 31 Mar 2027")
    assert "roles: coordinator" in (await bot.say("carol", "!whoami", platform="irc"))[0]
    out = await bot.say("you", "!role list coordinator")
    assert out == ["coordinator (1): carol2"]  # the console's carol came first and is carol


async def test_a_role_given_ahead_can_be_taken_back_before_it_applies(bot):
    await bot.say("you", "!role grant matrix:@dana:example.org host")
    await bot.say("you", "!role grant discord:123456789012 host")
    out = await bot.say("you", "!role list host")
    assert out == ["Nobody has the host role.\nWaiting for their first message: discord:123456789012, matrix:@dana:example.org"]
    out = await bot.say("you", "!role revoke matrix:@dana:example.org host")
    assert out == ["matrix:@dana:example.org will not be host when they first write to me."]
    assert "does not have the host role" in (await bot.say("you", "!role revoke matrix:@dana:example.org host"))[0]
    await bot.say("dana", "!help", platform="matrix")
    assert "roles: member" in (await bot.say("dana", "!whoami", platform="matrix"))[0]


async def test_accounts_that_cannot_be_are_refused_and_rights_are_unchanged(bot):
    out = await bot.say("you", "!role grant discord:carol host")
    assert out == ["'carol' is not an account on discord — usage: !role grant WHO mentee|mentor|host|coordinator|admin"]
    out = await bot.say("you", "!role grant matrix:dana host")
    assert "'dana' is not an account on matrix" in out[0]
    assert "I don't know anyone called 'nobody'" in (await bot.say("you", "!role grant nobody host"))[0]
    await bot.say("alice", "!help")
    await bot.say("alice", "!help", platform="irc")
    assert (await bot.say("you", "!role grant irc:Alice host")) == ["alice2 is now host."]  # her account, its case aside
    await bot.say("you", "!role grant alice coordinator")
    assert "Only admins" in (await bot.say("alice", "!role grant irc:erin coordinator"))[0]
    assert (await bot.say("alice", "!role grant irc:erin host")) == [
        "irc:erin has not written to me yet: they will be host as soon as they do."]
    assert "is for coordinator" in (await bot.say("bob", "!role grant irc:erin host"))[0]
