"""The studio in JupyterLab: live widgets (anywidget) for each stage, talking to the engine
through its client only. Their front ends are in ``widgets/``."""

from studio.ui._analysis import AnalysisView
from studio.ui._base import StudioWidget
from studio.ui._chat import ChatSession
from studio.ui._dashboard import dashboard, link_query
from studio.ui._library import Library
from studio.ui._link import Link, close_links, link
from studio.ui._monitor import RenderMonitor
from studio.ui._moods import MoodPicker
from studio.ui._storyboard import Storyboard
from studio.ui._studio import Studio, StudioSteps
from studio.ui._timeline import Timeline

__all__ = [
    "AnalysisView",
    "ChatSession",
    "Library",
    "Link",
    "MoodPicker",
    "RenderMonitor",
    "Storyboard",
    "Studio",
    "StudioSteps",
    "StudioWidget",
    "Timeline",
    "close_links",
    "dashboard",
    "link",
    "link_query",
]
