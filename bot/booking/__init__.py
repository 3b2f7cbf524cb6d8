"""Booking: the slot engine, race-proof booking, reminders and nudges."""
