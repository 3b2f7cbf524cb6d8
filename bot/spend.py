"""Ad spend per source, the one place reports read it from (CPL, ROI, CAC).

TODO(i5-money): the i5-money branch adds the spend table and the /spend command; wire this
function to it. Until then nothing is known, so CPL, ROI and CAC show «—».
"""

from __future__ import annotations

from bot.kpi import Period


async def spend_by_source(period: Period) -> dict[str, int]:
    """Kopecks spent per source id in the period; a source missing from the dict: unknown."""
    del period
    return {}
