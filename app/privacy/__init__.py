"""What Candor keeps about people, why, for how long, and who sees it."""
