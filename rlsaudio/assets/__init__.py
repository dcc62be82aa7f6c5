"""Package data: the default cover art."""
