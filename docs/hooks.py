"""MkDocs hook: optional includes of files other work streams produce (e.g. benchmark results).

``<!-- include-optional: benchmarks/RESULTS.md -->`` on a line of its own is replaced by that file's
content when the file exists (its title dropped, headings shifted one level down, relative links turned
into repository paths, since the site does not serve those files), and by the text between the
``<!-- else -->`` and ``<!-- end -->`` lines that follow the marker when it does not. Paths are
relative to the repository root. pymdownx.snippets cannot do this: it either fails on a missing file
or silently drops it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
_BLOCK = re.compile(
    r"^<!-- include-optional: (?P<path>\S+) -->\n(?:<!-- else -->\n(?P<else>.*?)<!-- end -->\n)?",
    re.M | re.S,
)


_LOCAL_LINK = re.compile(r"\[([^\]]+)\]\((?![a-z]+:|#|/)([^)\s]+)\)")


def _adapt(text: str, folder: str) -> str:
    lines = text.splitlines()
    if lines and lines[0].startswith("# "):
        lines = lines[1:]
    text = "\n".join(lines).strip("\n")
    text = re.sub(r"^(#{1,5}) ", r"#\1 ", text, flags=re.M)
    return _LOCAL_LINK.sub(lambda m: f"{m.group(1)} (`{folder}{m.group(2)}` in the repository)", text)


def expand(markdown: str, root: Path = ROOT) -> str:
    def replace(m: re.Match[str]) -> str:
        path = root / m.group("path")
        if path.is_file():
            folder = str(Path(m.group("path")).parent)
            return _adapt(path.read_text(), "" if folder == "." else folder + "/") + "\n"
        return m.group("else") or ""

    return _BLOCK.sub(replace, markdown)


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    return expand(markdown)
