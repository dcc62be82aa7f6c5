"""Base: what every stage needs and nothing else of rlsaudio: errors, durations and the sample
clock, limits, accepted text, safe file I/O, TOML with located errors, bundled names."""
