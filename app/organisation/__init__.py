"""The organisation's own details and logo: stored by admins, read by course publishing,
certificates and transcripts. Services take the session first and never commit."""
