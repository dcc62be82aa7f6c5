"""Speech: voice profiles, the engines (registered like plugins), the pronunciation table, and
synthesis of each phrase once, in a pool of processes where it pays."""
