"""The bundled routine files (package data)."""
