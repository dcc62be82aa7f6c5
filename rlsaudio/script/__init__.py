"""Script: the session as words and times, pure: routines, the point library, compositions, modes,
the narrator's stock words, and the timeline (laid out, then timed). No audio, no files, no clock."""
