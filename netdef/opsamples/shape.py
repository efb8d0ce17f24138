"""Samples of netdef/functional/shape ops."""

from __future__ import annotations
