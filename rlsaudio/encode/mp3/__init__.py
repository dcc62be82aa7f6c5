"""MP3 on every core: frames, splicing, encoders, the Info header, and the writer that joins them."""
