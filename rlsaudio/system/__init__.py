"""System: the machine's resources: the ffmpeg binary and how to run it, threads, worker
processes, freed memory, the speech cache, and progress on a terminal."""
