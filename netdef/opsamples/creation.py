"""Samples of netdef/functional/creation ops."""

from __future__ import annotations
