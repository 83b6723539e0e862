"""Learning from history: solutions, similar solved tickets and the category classifier."""
