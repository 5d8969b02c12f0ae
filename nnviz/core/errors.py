"""The few exceptions the core raises; their messages are meant for students."""


class NnvizError(Exception):
    """Base class: a problem the user can fix (bad file, bad value, no network)."""


class DataError(NnvizError):
    """A data file or data source could not be read (missing, truncated, wrong format)."""


class DownloadError(DataError):
    """A download failed, was cancelled, or gave a file whose digest does not match."""


class ConfigError(NnvizError):
    """A training setting is out of range (eta <= 0, sizes not matching the data, ...)."""
