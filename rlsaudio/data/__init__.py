"""Package data: the tables rlsaudio reads (modes, tag fields, pronunciations)."""
