"""Samples of netdef/functional/pooling ops."""

from __future__ import annotations
