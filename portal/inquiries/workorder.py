"""The printable work order (工单) of a case, for the paper archive: the case's facts as this
viewer may see them (numbers masked: portal.inquiries.privacy) and its whole timeline."""

from __future__ import annotations

from typing import Any

from portal.boards.access import BoardAccess
from portal.cards import services as cards
from portal.cards import stages
from portal.inquiries import workflow


async def work_order(access: BoardAccess, card_id: int) -> dict[str, Any]:
    """NotFound unless this viewer may see the case (as the drawer)."""
    await workflow.case_access(access, card_id)
    card = await cards.get_card(access, card_id)  # concealed for this viewer
    column = await workflow.column_of(card["column"])
    steps = await workflow.steps(card_id, card)  # masked as the question is for this viewer
    return {
        "card": card,
        "state": workflow.state_of(column),
        "steps": steps,
        "stages": await stages.history(card_id),
        "departments": await workflow.department_names(),
    }
