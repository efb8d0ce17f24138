"""README's tensorrtx table is written from the zoo registry: a stale table, a folder with neither a zoo entry nor a
reason, or an entry naming no tensorrtx folder fails here."""

from __future__ import annotations

import dataclasses
import re

from netdef.zoo import tensorrtx, zoo


def test_readme_table_is_current():
    text = tensorrtx.README.read_text()
    assert tensorrtx.BEGIN in text and tensorrtx.END in text, "README.md lost the tensorrtx table's markers"
    block = tensorrtx.BEGIN + text.split(tensorrtx.BEGIN, 1)[1].split(tensorrtx.END, 1)[0] + tensorrtx.END
    assert block == tensorrtx.render(), (
        "README.md's tensorrtx table is stale: run `python -m netdef.zoo.tensorrtx --write`"
    )


def test_every_folder_is_covered_or_says_why_not():
    assert tensorrtx.problems() == []
    assert len(set(tensorrtx.FOLDERS)) == len(tensorrtx.FOLDERS)


def test_readme_counts_every_zoo_entry():
    count = re.search(r"`netdef/zoo/` holds (\d+) architectures", tensorrtx.README.read_text())
    assert count and int(count.group(1)) == len(zoo.ZOO), f"README's zoo count is not {len(zoo.ZOO)}"


def test_problems_name_the_folder_and_the_fix(monkeypatch):
    """The consistency check can fail: a misspelt folder, and a folder both covered and listed as not covered."""
    entries = dict(zoo.ZOO)
    entries["lenet"] = dataclasses.replace(zoo.ZOO["lenet"], tensorrtx="le-net")
    entries["extra"] = dataclasses.replace(zoo.ZOO["lenet"], tensorrtx="yolo11_tripy")
    monkeypatch.setattr(tensorrtx, "ZOO", entries)
    found = "\n".join(tensorrtx.problems())
    assert "'le-net', which is not one of FOLDERS" in found
    assert "'yolo11_tripy' is covered by ['extra'] and listed in NOT_COVERED" in found
    assert "tensorrtx folder 'lenet' has no zoo entry and no NOT_COVERED reason" in found
    assert "| yolo11_tripy | extra | twin only |" in tensorrtx.render()


def test_oracles_are_packages_or_repositories():
    from netdef.zoo import upstream

    for name, entry in zoo.ZOO.items():
        assert not entry.oracle or entry.oracle in upstream.PACKAGES or entry.oracle.count("/") == 1, name
