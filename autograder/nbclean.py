"""What an editor wrote into a submitted notebook that grading never reads and the notebook format refuses,
removed before the notebook is checked (intake.read_notebook), so that correct work is not refused for it:
metadata fields of the wrong type (`"collapsed": "yes"`, `"execution": {"iopub.status.busy": 5}`), tags that
are not strings, outputs, run counts and cell ids that break the format (grading runs the notebook again).
"""
from __future__ import annotations

import json
import re
import uuid

import nbformat

#: Metadata (of the notebook and all its cells) larger than this is not cleaned of fields the format refuses: the
#: notebook is refused as before (an editor writes a few hundred bytes per cell; checking takes about 1 s per MiB)
MAX_METADATA_BYTES = 1 << 20
#: At most this many metadata fields are checked one by one for a wrong value inside them (see _strip_nested)
MAX_FIELD_CHECKS = 2_000


def fix_version(data: dict) -> bool:
    """Format-4 notebooks (a list of cells) whose version fields are missing or not whole numbers
    (`"nbformat_minor": "5"`: a tool's doing; Jupyter can't open them either) get the numbers format 4 has, and
    notebook metadata that is missing or not an object becomes {}; in place, on the raw JSON. True if any was. A 4.4
    notebook with cell ids is read as 4.5 (an editor's ordinary slip, not said)."""
    major = data.get("nbformat")
    if not isinstance(data.get("cells"), list) or (isinstance(major, (int, float)) and not isinstance(major, bool)
                                                   and major != 4):
        return False   # another format (3 has no cells list; 5 does not exist): refused as it is
    has_ids = any(isinstance(c, dict) and "id" in c for c in data["cells"])
    wanted = {"nbformat": 4, "nbformat_minor": 5 if has_ids else 4}
    changed = False
    for key, default in wanted.items():
        value = data.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            continue
        whole = isinstance(value, (str, float)) and str(value).strip().removesuffix(".0").isdigit()
        data[key] = int(str(value).strip().removesuffix(".0")) if whole else default
        changed = True
    if not isinstance(data.get("metadata"), dict):
        data["metadata"], changed = {}, True
    if data["nbformat_minor"] < 5 and has_ids:
        data["nbformat_minor"] = 5   # cell ids came with 4.5: an editor that writes them wrote 4.5 (not said)
    return changed


def drop_broken_outputs(data: dict) -> bool:
    """In the raw JSON, before nbformat reads it (it fails on them with an AttributeError): a code cell's outputs
    that are not a list of objects become [], a markdown cell's attachments that are not objects go. True if outputs or attachments went (grading runs the notebook again)."""
    changed = False
    for cell in data["cells"] if isinstance(data["cells"], list) else []:
        if not isinstance(cell, dict):
            continue
        outputs, attachments = cell.get("outputs"), cell.get("attachments")
        if outputs is not None and not (isinstance(outputs, list) and all(isinstance(o, dict) for o in outputs)):
            cell["outputs"], changed = [], True
        if attachments is not None and not (isinstance(attachments, dict)
                                            and all(isinstance(a, dict) for a in attachments.values())):
            del cell["attachments"]
            changed = True
    return changed


def drop_what_grading_replaces(nb: nbformat.NotebookNode) -> bool:
    """Outputs and run counts (grading runs the notebook again), fields a cell of its type can't have, and cell ids
    the format refuses (the repair gives the released cells their ids): removed in place; True if any was."""
    changed = False
    for cell in nb.cells:
        code = cell.get("cell_type") == "code"
        if code and (cell.get("outputs") or cell.get("execution_count") is not None):
            cell["outputs"], cell["execution_count"], changed = [], None, True
        for key in {"attachments"} if code else {"outputs", "execution_count"}:
            changed |= cell.pop(key, None) is not None
        if "id" in cell and not (isinstance(cell["id"], str) and re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", cell["id"])):
            cell["id"], changed = uuid.uuid4().hex[:12], True
    return changed


def drop_odd_tags(data: dict) -> int:
    """Remove cell tags that are not a list of strings, in the raw JSON: the format wants them unique, and checking
    that compares every pair when they can't be sorted (1,000 tags that are dicts: 30 s, 2,000: 2 minutes). Cell
    metadata that is not an object (null, a list) becomes an empty one, and so does missing metadata (not counted)."""
    dropped = 0
    for cell in data["cells"] if isinstance(data["cells"], list) else []:
        if isinstance(cell, dict) and not isinstance(cell.setdefault("metadata", {}), dict):
            cell["metadata"] = {}
            dropped += 1
        meta = cell.get("metadata") if isinstance(cell, dict) else None
        tags = meta.get("tags") if isinstance(meta, dict) else None
        if tags is not None and not (isinstance(tags, list) and all(isinstance(t, str) for t in tags)):
            del meta["tags"]
            dropped += 1
    return dropped


def strip_invalid_metadata(nb: nbformat.NotebookNode) -> int:
    """Remove, in place, the metadata fields that the notebook format refuses (nbformat's own rule), checked on a
    copy without sources and outputs so that the time it takes depends on the metadata only; how many went (0
    when the metadata is over MAX_METADATA_BYTES)."""
    cells = [{"cell_type": c.cell_type, "metadata": c.metadata, "source": "", **({"id": c.id} if "id" in c else {}),
              **({"outputs": [], "execution_count": None} if c.cell_type == "code" else {})} for c in nb.cells]
    skeleton = {**nb, "cells": cells}
    if len(json.dumps(skeleton, default=str)) > MAX_METADATA_BYTES:
        return 0
    stripped, fixed = nbformat.validator.normalize(skeleton, strip_invalid_metadata=True)
    for ours, kept in zip([nb, *nb.cells], [fixed, *fixed["cells"]]):
        for key in set(ours.metadata) - set(kept["metadata"]):
            del ours.metadata[key]
    return stripped + _strip_nested(nb, cells)


def _strip_nested(nb: nbformat.NotebookNode, cells: list[dict]) -> int:
    """Remove the metadata fields with a wrong value inside them (`"execution": {"iopub.status.busy": 5}`), which
    nbformat's rule keeps: each field of a cell (or of the notebook) that fails the format is checked alone, in a
    notebook of that one cell, at most MAX_FIELD_CHECKS fields in all (beyond that it is refused as before). A
    cell that fails without any metadata (a wrong id or type) keeps its metadata: that is not the fields' fault."""
    schema = nbformat.validator.get_validator(version=4, version_minor=nb.nbformat_minor)   # fastjsonschema's

    def valid(metadata: dict, cell: dict | None = None) -> bool:   # (nbformat's isvalid takes 1.5 ms for a no)
        one = [] if cell is None else [{**cell, "metadata": metadata, **({"id": "x"} if "id" in cell else {})}]
        return not schema.iter_errors({**nb, "metadata": metadata if cell is None else {}, "cells": one})

    if not valid({}):
        return 0
    owners = [(nb.metadata, None), *((c.metadata, skeleton) for c, skeleton in zip(nb.cells, cells))]
    bad = [(meta, cell) for meta, cell in owners if meta and not valid(dict(meta), cell) and valid({}, cell)]
    if sum(len(meta) for meta, _ in bad) > MAX_FIELD_CHECKS:
        return 0
    removed = 0
    for meta, cell in bad:
        for key in [k for k in meta if not valid({k: meta[k]}, cell)]:
            del meta[key]
            removed += 1
    return removed
