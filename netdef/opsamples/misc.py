"""Samples of netdef/functional/misc ops."""

from __future__ import annotations
