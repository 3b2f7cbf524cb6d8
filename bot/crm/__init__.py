"""CRM sync (Bitrix24, amoCRM): the port, the sync queue and what applies a CRM's changes."""
