"""Where did each section of the old README go? A check for the docs move, not a test.

Lists every ``##`` and ``###`` heading of the README as it was before it became a front page,
the docs page(s) that now hold that heading and the (at most two) pages holding a fifth or
more of its lines, and how much of the section's text is found word for word in docs/ (lines
compared with whitespace collapsed; code lines included). Lines not found are printed with ``--missing``: they were
rewritten, or lost.

    python docs/tools/readme_sections.py [--rev COMMIT] [--missing]

``--rev`` defaults to the newest commit whose README.md had more than 500 lines.
"""

from __future__ import annotations

import argparse
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


def git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout


def old_readme(rev: str | None) -> tuple[str, str]:
    if rev is None:
        for commit in git("log", "--format=%H", "--", "README.md").split():
            text = git("show", f"{commit}:README.md")
            if text.count("\n") > 500:
                return commit, text
        raise SystemExit("no commit with a long README.md")
    return rev, git("show", f"{rev}:README.md")


def norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def heading_key(text: str) -> str:
    return norm(text.lstrip("#").replace("`", "")).lower()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rev", help="commit of the old README")
    parser.add_argument("--missing", action="store_true", help="print the lines not found")
    args = parser.parse_args()
    rev, readme = old_readme(args.rev)

    pages = {
        p.relative_to(DOCS).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(DOCS.rglob("*.md"))
    }
    normed = {name: norm(text) for name, text in pages.items()}
    corpus = " ".join(normed.values())
    headings: dict[str, list[str]] = {}
    for name, text in pages.items():
        for line in text.splitlines():
            if line.startswith("#"):
                headings.setdefault(heading_key(line), []).append(name)

    sections: list[tuple[str, list[str]]] = []
    in_code = False
    for line in readme.splitlines():
        if line.startswith("```"):
            in_code = not in_code
            continue
        if not in_code and re.match(r"#{2,3} ", line):
            sections.append((line, []))
        elif sections and line.strip() and not line.startswith("<!--"):
            sections[-1][1].append(line)

    print(f"old README: {rev[:12]}, {readme.count(chr(10))} lines, {len(sections)} sections")
    print(f"{'section':<78} {'now in':<36} found")
    total = found_total = 0
    for title, lines in sections:
        found = [ln for ln in lines if norm(ln) in corpus]
        # pages holding at least a fifth of the section's longer lines (not table rules)
        long = [norm(ln) for ln in lines if len(norm(ln)) > 40]
        holders = {name: sum(ln in text for ln in long) for name, text in normed.items()}
        ranked = sorted(holders.items(), key=lambda kv: -kv[1])
        by_lines = [n for n, c in ranked if c and c >= len(long) / 5][:2]
        where = ", ".join(dict.fromkeys(headings.get(heading_key(title), []) + by_lines))
        total += len(lines)
        found_total += len(found)
        share = f"{len(found)}/{len(lines)}"
        print(f"{title[:78]:<78} {where:<36} {share}")
        if args.missing:
            for ln in lines:
                if norm(ln) not in corpus:
                    print(f"    not found: {ln.strip()[:110]}")
    print(f"lines found word for word in docs/: {found_total} of {total}")


if __name__ == "__main__":
    main()
