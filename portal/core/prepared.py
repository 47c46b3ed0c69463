"""Statements built once: a Piccolo select built with stand-in values the first time it is
needed, its SQL kept, and run again with each request's own values.

Building a query costs more than running it on a small page: Piccolo copies each joined
column on every build (looking its attributes up with dir()) and walks the whole tree to
compile it, about half a millisecond for a board page's card query, on every request. The
statements every request or every board page runs (the signed-in user, the board's cards,
its people) are built here once per process, per engine and shape; the engine gets the same
SQL and the same parameters either way. The rows are what Piccolo returns without
``output(load_json=True)``: JSON fields as their text.

    statement = prepared(("people",), lambda v: BoardMember.select(…).where(BoardMember.board == v["board"]), ["board"])
    rows = await statement.run({"board": board_id})

``build`` receives a stand-in for each name (a negative whole number no id can be) and must
use each as a value of the statement, as given: only ints can be parameters. A shape is
everything else that changes the SQL (a kind, how many columns, a liaison's department).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

_STAND_IN = -1_987_654_321


class Prepared:
    __slots__ = ("table", "template", "recipe")

    def __init__(self, query: Any, names: list[str]) -> None:
        stand_ins = {_STAND_IN - index: name for index, name in enumerate(names)}
        _, fragments, values = query.querystrings[0].bundle(start_index=1, bundled=[], combined_args=[])
        # Piccolo's own placeholders ({}) again, literal braces escaped: a QueryString template.
        self.template = "".join(
            fragment.prefix.replace("{", "{{").replace("}", "}}") + ("" if fragment.no_arg else "{}")
            for fragment in fragments
        )
        # Each parameter: a request's value (by name) where a stand-in was, or the query's own.
        self.recipe = tuple(
            (stand_ins[value], None) if value.__class__ is int and value in stand_ins else (None, value)
            for value in values
        )
        if {name for name, _ in self.recipe if name} != set(names):
            raise RuntimeError(f"A prepared statement lost one of its values: {names}")
        self.table = query.table

    async def run(self, values: Mapping[str, Any]) -> list[dict[str, Any]]:
        return await self.table.raw(self.template, *[values[name] if name else value for name, value in self.recipe])


_PREPARED: dict[tuple, Prepared] = {}


def prepared(shape: tuple, build: Callable[[dict[str, int]], Any], names: list[str]) -> Prepared:
    """The statement of this shape, built by ``build({name: stand-in})`` the first time."""
    from portal.db import engine

    key = (engine().engine_type, *shape)
    statement = _PREPARED.get(key)
    if statement is None:
        stand_ins = {name: _STAND_IN - index for index, name in enumerate(names)}
        statement = _PREPARED[key] = Prepared(build(stand_ins), names)
    return statement
