"""The survey pages on the HTTP site (an adapter: aiohttp and Jinja2 over server/surveys)."""
