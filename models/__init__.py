"""The netdef model zoo. ``models/<name>.py`` is the netdef model; ``models/twins/<name>.py`` its torch twin."""
