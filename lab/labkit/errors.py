class LabError(Exception):
    """A lab operation failed; the message is meant for the person at the terminal."""
