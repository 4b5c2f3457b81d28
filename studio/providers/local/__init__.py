"""The embedded providers: every stage offline, with no key and no network."""

from studio.providers.local._image import LocalImageModel
from studio.providers.local._painter import Scene, paint, read_scene

__all__ = ["LocalImageModel", "Scene", "paint", "read_scene"]
