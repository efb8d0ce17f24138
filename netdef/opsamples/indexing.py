"""Samples of netdef/functional/indexing ops."""

from __future__ import annotations
