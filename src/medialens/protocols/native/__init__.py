"""The medialens native API (``/v1``): clean REST, bearer auth, documented in the app's OpenAPI."""

from medialens.protocols.native.routes import router

__all__ = ["router"]
