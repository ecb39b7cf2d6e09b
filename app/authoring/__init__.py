"""The trainer studio's rules: which courses exist and how they stand, who sees them, and (as
they land) drafts, publishing, history and question statistics. No Flask here."""
