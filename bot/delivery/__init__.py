"""Delivery: the outbox, the Channel port and what decides when a message goes."""
