"""The web app: server-rendered pages (Jinja2, htmx, Plotly) on the same services as the API and
the CLI, mounted by the API's app at /app. Its scripts are served from the package, never a CDN."""
