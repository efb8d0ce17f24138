"""Samples of netdef/functional/conv ops."""

from __future__ import annotations
