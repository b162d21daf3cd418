"""Runbooks as data: schema, safe templating, loading against the handler registry, and plans.

Deliberately empty of imports: bot.config.environments uses bot.runbooks.duration, and the loader uses
bot.config, so importing the package must not pull either in.
"""
