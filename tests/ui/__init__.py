"""Real-browser tests of the studio's widgets in JupyterLab (see ``lab.py`` for the harness)."""
