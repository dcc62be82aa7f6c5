"""The app: `rlsaudio app`, a local web app for the whole evening, on the CLI's own code.

    server.py    the ASGI app (the guard, the key cookie, the page) and running it
    api.py       the JSON API: routines, points, voices, plans, builds, tracks, uploads, diary
    settings.py  a request's JSON settings -> a TrackRequest and TrackOptions, checked with the CLI's words
    uploads.py   uploaded routine files, checked like any routine file, kept in a private folder
    builds.py    the build queue (one at a time, each in a worker process) and the helper for plans and samples
    worker.py    what runs in those processes: a build with progress, an exact plan, a voice sample
    library.py   the tracks of the output folder as the Library shows them, and deleting one
    app.html, app.css, app.js   the page (package data)

Stage "app": after serve; it may import every stage before it, never cli.
"""
