"""The app's read side: loaders cached on file versions (and Redis), the pages' calculations, the
Models and Research read models, the admin gate and run-now. Imports the domain, the store and
config; never Streamlit or jobs (pages/ and app.py import from here, not from the store)."""
