"""The coach: reviews of finished manager–client dialogues, tips, summaries, bonus progress."""
