"""The optional AI layer: a model reads free text, the rules check everything it says.

Only this package imports `openai` (in `client`). Every model answer is validated against
the catalog, the slot engine and the business's own facts; on timeout, error or invalid
output the rules answer instead. See docs/ai.md.
"""
