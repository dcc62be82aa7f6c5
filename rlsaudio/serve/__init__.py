"""Serve: the read-only window on a folder of published tracks, over HTTP on this computer or the
local network."""
