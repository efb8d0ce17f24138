"""Samples of netdef/functional/reduction ops."""

from __future__ import annotations
