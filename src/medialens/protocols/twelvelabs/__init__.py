"""The Twelve Labs protocol (API v1.2): video indexes and classify by prompts, for the `twelvelabs` client."""

from medialens.protocols.twelvelabs.routes import mount

__all__ = ["mount"]
