"""Audio: samples in, samples out: clips trimmed and leveled, tones, soundscapes, the chunked mixer,
the loudness meter and its filters."""
