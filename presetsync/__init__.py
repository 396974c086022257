"""presetsync: Kingsoft Cloud offline transcoding presets as code."""

__version__ = "0.1.0"
