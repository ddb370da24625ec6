"""The error tree of the storage package."""


class StorageError(Exception):
    """Base of every error the storage package raises."""


class DatabaseUnavailable(StorageError):
    """The database cannot be reached or opened; the message says what to check."""
