"""rlsaudio: voice-guided audio sessions for restless legs self-care routines."""

__version__ = "0.1.0"
