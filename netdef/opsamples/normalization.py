"""Samples of netdef/functional/normalization ops."""

from __future__ import annotations
