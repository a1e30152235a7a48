"""Reading Kubernetes manifests from files and directories (YAML, JSON, multi-document).

A broken file is reported with its path and line, as kubectl does, instead of a
parser trace: ``ManifestError("svc.yaml:7: mapping values are not allowed here")``.
Lists (``kind: List`` / ``*List``) are flattened into their items.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

_SUFFIXES = (".yaml", ".yml", ".json")


class ManifestError(Exception):
    """A manifest that cannot be read; the message names file and line."""


@dataclass(frozen=True, slots=True)
class Manifest:
    source: str
    doc: dict[str, Any]


def expand(paths: list[str]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            out += sorted(f for f in path.rglob("*") if f.suffix in _SUFFIXES and f.is_file())
        elif path.exists():
            out.append(path)
        else:
            raise ManifestError(f'the path "{p}" does not exist')
    return out


def parse(text: str, source: str) -> list[Manifest]:
    try:
        docs = list(yaml.safe_load_all(text))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = exc.problem or exc.context or "invalid YAML"
        raise ManifestError(f"{source}{line}: {problem}") from exc
    except yaml.YAMLError as exc:
        raise ManifestError(f"{source}: {exc}") from exc
    out: list[Manifest] = []
    for i, doc in enumerate(docs):
        if doc is None:
            continue
        if not isinstance(doc, dict):
            raise ManifestError(f"{source}: document {i + 1} is not an object")
        kind = str(doc.get("kind", ""))
        if kind == "List" or (kind.endswith("List") and isinstance(doc.get("items"), list)):
            out += [Manifest(source, item) for item in doc["items"] if isinstance(item, dict)]
            continue
        missing = [f"{k} not set" for k in ("apiVersion", "kind") if not doc.get(k)]
        if missing:
            detail = missing[0] if len(missing) == 1 else "[" + ", ".join(missing) + "]"
            raise ManifestError(f"{source}: error validating data: {detail}")
        out.append(Manifest(source, doc))
    return out


def load(paths: list[str]) -> list[Manifest]:
    out: list[Manifest] = []
    for path in expand(paths):
        out += parse(path.read_text(encoding="utf-8"), str(path))
    return out
