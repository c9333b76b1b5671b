"""JupyterLab for every hub user: no news feed fetched from the internet.

``labconfig/default_setting_overrides.json`` beside this file switches the "Jupyter
news" pop-up and the update check off by default (as learner-config/ does for
self-paced learners); users can still turn them on in Settings.
"""

c = get_config()  # noqa: F821 (provided by Jupyter)

c.LabApp.news_url = None
