"""ApsaraVideo VOD 2017-03-21 RPC protocol (WIRE.md §B): `POST /` dispatching on x-acs-action / Action."""

from medialens.protocols.vod.routes import router

__all__ = ["router"]
