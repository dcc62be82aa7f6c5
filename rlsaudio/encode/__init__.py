"""Encode: PCM to MP3, M4B or Opus, streamed: the formats' table, the writers, the checks that a
written file is whole, and MP3 on every core (mp3/)."""
