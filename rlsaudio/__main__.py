"""`python -m rlsaudio`: the same command line as the `rlsaudio` script."""

from .cli import main

main()
