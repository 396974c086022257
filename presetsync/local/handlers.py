"""What each of the eleven operations does, given an authenticated account: :class:`Operations`.

:class:`Operations` has one method per operation, named like the client's methods
(``preset``, ``get_task_list``, ...). Each validates its arguments (an invalid one raises an
:class:`~presetsync.local.protocol.AppError` whose message names the field), does its reads
and writes in one store transaction, and returns the answer shaped like the examples in
offline-api-examples.md. The errNum table is in :mod:`presetsync.local.protocol`.

The preset operations are here; the task operations are in :mod:`presetsync.local.tasks_ops`;
state, dispatch, argument readers and time texts in :mod:`presetsync.local.operation_base`.

Where the documents allow two readings, a switch picks one: ``strict_create`` refuses a
CreateTask whose preset does not exist (no task) instead of failing the task later;
``later_preset_rules`` applies the later documents' name rule and fixed presettype, which
the 2016 documents do not state.

GetPresetList writes its list as JSON text (:class:`~presetsync.local.protocol.RawJSON`), each
item with the param the store keeps in its answered form (``param_wire``): the same bytes as
encoding :meth:`Operations._preset_item` of every preset, a fifth of the time.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from json.encoder import encode_basestring as _quote  # what the answer's encoder writes for a str
from typing import Any

from .operation_base import int_arg, optional_text, required_text
from .params import PRESET_TYPES, check_param, check_preset_name, check_preset_type, echo_param
from .protocol import PRESET_EXISTS, PRESET_NOT_FOUND, AppError, RawJSON, invalid, success
from .store import PresetRow, PresetWire
from .tasks_ops import TaskOperations


def _csv(value: str | None) -> list[str]:
    return [item.strip() for item in (value or "").split(",") if item.strip()]


class Operations(TaskOperations):
    """The eleven operations over one store: the preset operations, with the task operations
    of :class:`~presetsync.local.tasks_ops.TaskOperations`. Thread-safe (all state is in the store)."""

    def preset(self, account: str, args: Mapping[str, Any]) -> dict[str, Any]:
        name = check_preset_name(args.get("preset"), later_rule=self.later_preset_rules)
        presettype = check_preset_type(args.get("presettype"))
        param = check_param(presettype, args.get("param"))
        description = optional_text(args, "description")
        row = PresetRow(name, presettype, description, json.dumps(param, ensure_ascii=False), self._now(), None)
        with self.store.transaction(write=True) as tx:
            if not tx.insert_preset(account, row):
                raise AppError(PRESET_EXISTS, f"preset {name} already exists")
        return success()

    def update_preset(self, account: str, args: Mapping[str, Any]) -> dict[str, Any]:
        name = required_text(args, "preset")
        new_type = args.get("presettype")
        if new_type not in (None, ""):
            check_preset_type(new_type)
        with self.store.transaction(write=True) as tx:
            row = tx.get_preset(account, name)
            if row is None:
                raise AppError(PRESET_NOT_FOUND, f"preset {name} does not exist")
            presettype = new_type or row.presettype
            if presettype != row.presettype and self.later_preset_rules:
                raise invalid(f"presettype cannot be changed: preset {name} is {row.presettype}, got {new_type!r}")
            param = check_param(presettype, args["param"] if "param" in args else json.loads(row.param or "{}"))
            description = optional_text(args, "description", row.description)
            updated = PresetRow(
                name, presettype, description, json.dumps(param, ensure_ascii=False), row.created_at, self._now()
            )
            tx.update_preset(account, updated)
        return success()

    def del_preset(self, account: str, args: Mapping[str, Any]) -> dict[str, Any]:
        name = required_text(args, "preset")
        with self.store.transaction(write=True) as tx:
            if not tx.delete_preset(account, name):
                raise AppError(PRESET_NOT_FOUND, f"preset {name} does not exist")
        return success()

    def _preset_item(self, row: PresetRow) -> dict[str, Any]:
        item: dict[str, Any] = {
            "preset": row.name,
            "presetType": row.presettype,
            "description": row.description,
            "createTime": self._time_text(row.created_at),
            "updateTime": self._time_text(row.updated_at),
        }
        if row.param is not None:
            item["param"] = echo_param(json.loads(row.param))
        return item

    def get_preset_list(self, account: str, args: Mapping[str, Any]) -> dict[str, Any]:
        with_detail = int_arg(args, "withDetail", 0)
        if with_detail not in (0, 1):
            raise invalid(f"withDetail must be 0 or 1, got {with_detail}")
        type_field = "presettype" if args.get("presettype") else "presetType"
        types = _csv(args.get(type_field))
        for presettype in types:
            if presettype not in PRESET_TYPES:
                raise invalid(f"{type_field} must list values from {', '.join(PRESET_TYPES)}, got {presettype!r}")
        names = _csv(args.get("presets"))
        with self.store.transaction() as tx:
            rows = tx.list_presets_wire(account, types or None, names or None, with_param=bool(with_detail))
        return success(presetList=RawJSON(f"[{','.join([self._preset_item_text(row) for row in rows])}]"))

    def _preset_item_text(self, row: PresetWire) -> str:
        """:meth:`_preset_item` of a :meth:`~presetsync.local.store.Tx.list_presets_wire` row,
        as the answer encodes it: the same bytes, with the stored wire param spliced in."""
        name, presettype, description, wire, created_at, updated_at = row
        text = (
            f'{{"preset":{_quote(name)},"presetType":{_quote(presettype)},"description":{_quote(description)},'
            f'"createTime":"{self._time_text(created_at)}","updateTime":"{self._time_text(updated_at)}"'
        )  # time texts are digits, '-', ':' and ' ': nothing to escape
        return f'{text},"param":{wire}}}' if wire is not None else text + "}"

    def get_preset_detail(self, account: str, args: Mapping[str, Any]) -> dict[str, Any]:
        name = required_text(args, "preset")
        with self.store.transaction() as tx:
            row = tx.get_preset(account, name)
        if row is None:
            raise AppError(PRESET_NOT_FOUND, f"preset {name} does not exist")
        item = self._preset_item(row)
        detail = {key: item[key] for key in ("presetType", "param", "description", "createTime", "updateTime")}
        return success(presetdetail=detail)
