"""Money and percentages typed by people («15 000», «15000.50», «18,5 %») → exact integers."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

MAX_RUBLES = Decimal(1_000_000_000)


def _decimal(text: str, *suffixes: str) -> Decimal:
    cleaned = text.strip().casefold()
    for suffix in suffixes:
        cleaned = cleaned.removesuffix(suffix).strip()
    cleaned = cleaned.replace(" ", "").replace("\u00a0", "").replace(",", ".")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(text) from None
    if not value.is_finite() or value < 0:
        raise ValueError(text)
    return value


def parse_rubles(text: str) -> int:
    """Rubles with at most two decimals, 0 … 1 000 000 000 → kopecks."""
    value = _decimal(text, "₽", "руб.", "руб", "р.", "р")
    if value > MAX_RUBLES or value != value.quantize(Decimal("0.01")):
        raise ValueError(text)
    return int(value * 100)


def parse_percent(text: str, *, below_100: bool = False) -> int:
    """A percentage 0 … 100 with at most two decimals → basis points (18,5 % → 1850)."""
    value = _decimal(text, "%")
    if value > 100 or (below_100 and value == 100) or value != value.quantize(Decimal("0.01")):
        raise ValueError(text)
    return int(value * 100)


def percent_text(bp: int) -> str:
    """1850 → «18,5 %», 2000 → «20 %»."""
    value = (Decimal(bp) / 100).normalize()
    return f"{value:f} %".replace(".", ",")


def kop_half_up(value: Decimal) -> int:
    """Kopecks rounded half up (0,5 kopeck → 1), the one rounding rule for money here."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))
