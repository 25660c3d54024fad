"""The one exception type of the drivers layer."""


class DriverError(ValueError):
    """Unusable input data. The message names the file, the variable and the first bad index."""
