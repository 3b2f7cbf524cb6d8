"""Where the bot's default files live: inside the installed package, never found via the cwd.

`pip install priyom` puts the reference config, the FAQ, the message catalogs and the
migrations next to the code, so the `priyom` command works from any folder. Only the
database default depends on where the bot runs: the checkout's data/ under `make run`,
else data/ in the current folder (site-packages is no place for a database).
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
EXAMPLES = (PACKAGE / "examples").resolve()  # bot/examples links to the checkout's examples/


def source_checkout() -> Path | None:
    """The project folder when running from a clone (an editable install), else None."""
    root = PACKAGE.parent
    return root if (root / "pyproject.toml").is_file() and (root / "examples").is_dir() else None


def data_dir() -> Path:
    """Where the default SQLite files go."""
    return (source_checkout() or Path.cwd()) / "data"
