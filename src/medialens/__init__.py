"""medialens: self-hosted multimedia analysis behind the wire protocols of the cloud services."""

__version__ = "0.1.0"
