"""The Slack boundary: Bolt app, Web API client, command parsing, Block Kit rendering."""
