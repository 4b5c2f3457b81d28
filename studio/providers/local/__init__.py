"""The embedded providers: every stage offline, with no key and no network."""

from studio.providers.local._image import LocalImageModel
from studio.providers.local._painter import Scene, paint, read_scene
from studio.providers.local._planner import LocalPlanner

__all__ = ["LocalImageModel", "LocalPlanner", "Scene", "paint", "read_scene"]
