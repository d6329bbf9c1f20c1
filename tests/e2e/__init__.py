"""End-to-end tests: the bot as processes against real servers, the command line and the
console as a person uses them, the dashboard in a browser, the packaging."""
