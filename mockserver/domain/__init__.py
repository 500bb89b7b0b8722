"""Domain rules of the mock: pure Python, no Flask. Every rule lives here."""
