"""The listen-along page; its figures ship here as package data (figures/*.svg)."""
