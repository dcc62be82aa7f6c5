"""Voice profiles, installed with the package as rlsaudio._voices (see rlsaudio/voices.py)."""
