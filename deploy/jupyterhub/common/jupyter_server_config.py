"""JupyterLab settings every hub user gets: no news pop-up asking to reach the internet."""

c = get_config()  # noqa: F821 (provided by Jupyter)

c.LabApp.news_url = None
