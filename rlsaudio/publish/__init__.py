"""Publish: a planned session rendered, verified, tagged and committed with its sidecars and page;
albums and playlists, the podcast feed, and `inspect` reading a track back."""
