"""Area codes that were replaced, and the codes that replaced them; and the councils by
the codes files name them with.

GSS codes are never reused: when a council area's boundary changed, it got a new code.
Boundary and postcode files older than the change still carry the old code, so imports
read an old code as its replacement and say so. (The four below changed in 2018 and
2019 after small boundary changes.)
"""

from __future__ import annotations

import sqlalchemy as sa

RETIRED_CODES = {
    "S12000015": "S12000047",  # Fife
    "S12000024": "S12000048",  # Perth and Kinross
    "S12000044": "S12000050",  # North Lanarkshire
    "S12000046": "S12000049",  # Glasgow City
}


def current_code(code: str) -> str:
    """The code in use today for ``code`` (itself when it was never replaced)."""
    return RETIRED_CODES.get(code, code)


def council_ids(connection) -> dict[str, int]:
    """Council areas' ids by the codes files name them with: the code each has now and
    the code the reference data loaded it under (``reference_code``), which stays when
    an administrator gives an area a new code (``connection``: a session or connection)."""
    from .models import CouncilArea

    rows = connection.execute(
        sa.select(CouncilArea.id, CouncilArea.code, CouncilArea.reference_code)
    ).all()
    found = {code: id_ for id_, code, _ in rows}
    found.update({reference: id_ for id_, _, reference in rows if reference})
    return found
