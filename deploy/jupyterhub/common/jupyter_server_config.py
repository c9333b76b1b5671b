"""JupyterLab settings every hub user gets: no pop-up offering news from the internet.

JupyterLab's defaults for all users come from ``lab-settings/overrides.json`` beside
this file (users can still change their own settings).
"""

import os

c = get_config()  # noqa: F821 (provided by Jupyter)

c.LabApp.news_url = None
c.LabApp.app_settings_dir = os.path.join(os.path.dirname(__file__), "lab-settings")
