"""The netdef model zoo. ``netdef/zoo/<name>.py`` is the netdef model; ``netdef/zoo/twins/<name>.py`` its torch twin."""
